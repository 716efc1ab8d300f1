"""The action's locks (action/requirements/*.txt) satisfy pyproject.toml.

For every platform and Python the action supports, each requirement of crafter (and of each extra but dev)
whose marker holds there has exactly one pin in the lock installed for it, within the requirement's range;
every pin is exact and carries hashes; all the files pin the same versions (the install combines base.txt and
one file per extra). Regenerating the locks is action/lock.sh's job, not this test's (it needs PyPI)."""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterator, Mapping

import attrs
import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.action.conftest import ROOT

LOCKS = ROOT / "action" / "requirements"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = sorted(e for e in PROJECT["optional-dependencies"] if e != "dev")
PLATFORMS = {
    "linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    "darwin": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
    "win32": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
}
PYTHONS = ("3.11", "3.12", "3.13")
MACHINES = ("x86_64", "aarch64", "arm64", "AMD64")


@attrs.frozen
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]


def read_lock(name: str) -> list[Pin]:
    """The pins of a requirements file in pip's hash-checking form (continuation lines, comments)."""
    text = (LOCKS / f"{name}.txt").read_text()
    logical = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if line:
            logical.append(line)
    pins = []
    for line in logical:
        spec, *options = line.split(" --")
        hashes = tuple(o.removeprefix("hash=").strip() for o in options if o.startswith("hash="))
        assert len(hashes) == len(options), f"{name}.txt: only --hash options expected: {line}"
        req = Requirement(spec.split("  #")[0].strip())
        (specifier,) = req.specifier
        assert specifier.operator == "==", f"{name}.txt: {req} is not pinned with =="
        pins.append(Pin(canonicalize_name(req.name), Version(specifier.version), req.marker, hashes))
    return pins


def environments() -> Iterator[tuple[str, dict[str, str]]]:
    for (platform, values), python, machine in itertools.product(PLATFORMS.items(), PYTHONS, MACHINES):
        env = dict(default_environment())
        env.update(values)
        env.update(
            python_version=python,
            python_full_version=f"{python}.0",
            implementation_name="cpython",
            platform_python_implementation="CPython",
            platform_machine=machine,
        )
        yield f"{platform}-py{python}-{machine}", env


def requirements(extra: str | None) -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    if extra:
        reqs += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return reqs


def applies(marker: Marker | None, env: Mapping[str, str], extra: str | None = None) -> bool:
    return marker is None or marker.evaluate({**env, "extra": extra or ""})


def problems(lock: str, pins: list[Pin], extra: str | None) -> tuple[list[str], int]:
    """What the pins fail to satisfy of pyproject's requirements (base, plus ``extra``), and how many
    (requirement, environment) pairs were checked."""
    found: list[str] = []
    checked = 0
    for where, env in environments():
        active: dict[str, Pin] = {}
        for pin in pins:
            if applies(pin.marker, env):
                if pin.name in active:
                    found.append(f"{lock}.txt pins {pin.name} twice for {where}")
                active[pin.name] = pin
        for req in requirements(extra):
            if not applies(req.marker, env, extra):
                continue
            checked += 1
            name = canonicalize_name(req.name)
            if name not in active:
                found.append(f"{lock}.txt has no pin of {req} for {where}")
            elif not req.specifier.contains(active[name].version, prereleases=True):
                found.append(f"{lock}.txt pins {name}=={active[name].version}, outside {req} ({where})")
    return found, checked


@pytest.mark.parametrize("lock", ["base", *EXTRAS])
def test_the_lock_satisfies_pyproject_everywhere(lock: str) -> None:
    found, checked = problems(lock, read_lock(lock), None if lock == "base" else lock)
    assert found == []
    assert checked >= len(PROJECT["dependencies"]) * len(PYTHONS) * len(MACHINES) * 2


def test_a_pin_out_of_range_or_missing_somewhere_is_found() -> None:
    pins = read_lock("base")
    click = next(p for p in pins if p.name == "click")
    bumped = [attrs.evolve(p, version=Version("99.0")) if p is click else p for p in pins]
    found, _ = problems("base", bumped, None)
    assert found and all("pins click==99.0, outside click" in f for f in found)
    linux_only = [
        attrs.evolve(p, marker=Marker("sys_platform == 'linux'")) if p is click else p for p in pins
    ]
    found, _ = problems("base", linux_only, None)
    assert any("has no pin of click" in f and "win32" in f for f in found)
    assert not any("linux" in f for f in found)
    # filelock is required on Windows only: without it, only Windows environments miss it.
    found, _ = problems("base", [p for p in pins if p.name != "filelock"], None)
    assert found and all(f.startswith("base.txt has no pin of filelock") and "win32" in f for f in found)


def test_every_pin_has_hashes_and_every_file_pins_the_same_versions() -> None:
    everything = {p.name: p for p in read_lock("all")}
    base = {p.name for p in read_lock("base")}
    for lock in ["all", "base", *EXTRAS]:
        pins = read_lock(lock)
        assert pins, lock
        for pin in pins:
            assert pin.hashes and all(h.startswith("sha256:") and len(h) == 71 for h in pin.hashes), pin
            assert everything[pin.name].version == pin.version, f"{lock}.txt and all.txt differ on {pin.name}"
            assert set(pin.hashes) == set(everything[pin.name].hashes), f"{lock}.txt: hashes of {pin.name}"
        assert base <= {p.name for p in pins}, f"{lock}.txt lacks some of base.txt"
    assert set(everything) == set().union(*({p.name for p in read_lock(e)} for e in ["base", *EXTRAS]))


def test_the_locks_are_the_extras_of_pyproject() -> None:
    assert sorted(p.stem for p in LOCKS.glob("*.txt")) == sorted(["all", "base", *EXTRAS])
