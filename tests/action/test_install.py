"""action/install.sh: input checks, the per-job reuse, Python discovery, and the Windows venv layout
(Scripts/python.exe, Windows paths for GITHUB_PATH and GITHUB_ENV) on a simulated Git Bash.

Installing from the locks needs PyPI: .ci/run does it (the "== GitHub Action" section), with crafter from a
wheel of this checkout through the ``version`` and ``find-links`` inputs."""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from crafter._internal.cli.action import crafter_executable
from tests.action.conftest import ROOT, Job, run_step

INSTALL = ROOT / "action" / "install.sh"


def install(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(INSTALL)], env=env, capture_output=True, text=True, check=False)


def stamp(extras: str = "", locks: tuple[str, ...] = ("base",)) -> str:
    """What install.sh records as installed: crafter's spec, the extras, the locks' digest, find-links."""
    digest = hashlib.sha256(
        b"".join((ROOT / "action" / "requirements" / f"{n}.txt").read_bytes() for n in locks)
    ).hexdigest()
    return f"{ROOT} extras={extras} locks={digest} find-links="


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CRAFTER_ACTION_VERSION", "1.0; rm -rf /", "input 'version' is not a version"),
        ("CRAFTER_ACTION_EXTRAS", "aws] @ https://evil", "input 'extras' must be comma-separated names"),
        (
            "CRAFTER_ACTION_EXTRAS",
            "aws,dev",
            "unknown extra 'dev' (input 'extras'); known: aws,azure,cosign,gcp",
        ),
    ],
)
def test_install_refuses_malformed_inputs(tmp_path: Path, variable: str, value: str, message: str) -> None:
    proc = install({"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), variable: value})
    assert proc.returncode == 2
    assert f"::error title=crafter action::{message}" in proc.stderr
    assert not (tmp_path / "crafter-venv").exists()


def fake_venv(venv: Path, bin_dir: str, exe: str, spec: str) -> None:
    """A venv install.sh made earlier in the job (its stamp), whose crafter only prints a version."""
    (venv / bin_dir).mkdir(parents=True)
    for name in ("python", "crafter"):
        script = venv / bin_dir / f"{name}{exe}"
        script.write_text(f"#!{sys.executable}\nprint('{name} 9.9')\n")
        script.chmod(0o755)
    (venv / ".crafter-action-spec").write_text(spec)


def test_install_reuses_the_venv_of_an_earlier_step(tmp_path: Path) -> None:
    venv = tmp_path / "crafter-venv"
    fake_venv(venv, "bin", "", stamp("cosign,timestamp", ("base", "cosign", "timestamp")))
    env = {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(tmp_path),
        "CRAFTER_ACTION_PATH": str(ROOT),
        "CRAFTER_ACTION_EXTRAS": "cosign,timestamp",
        "CRAFTER_ACTION_PYTHON": "/nonexistent/python",  # would fail if it tried to install
        "GITHUB_ENV": str(tmp_path / "env"),
        "GITHUB_PATH": str(tmp_path / "path"),
    }
    proc = install(env)
    assert proc.returncode == 0, proc.stderr
    assert "already installed" in proc.stdout and "crafter 9.9" in proc.stdout
    assert (
        tmp_path / "env"
    ).read_text() == f"CRAFTER_VENV={venv}\nCRAFTER_PYTHON={venv / 'bin' / 'python'}\n"
    assert (tmp_path / "path").read_text() == f"{venv / 'bin'}\n"
    # Other extras (another lock) are another install: here, one that fails on the missing Python.
    proc = install({**env, "CRAFTER_ACTION_EXTRAS": "cosign"})
    assert proc.returncode == 2 and "crafter needs Python 3.11 or newer" in proc.stderr


def test_install_refuses_an_old_or_missing_python(tmp_path: Path) -> None:
    old = tmp_path / "python-old"
    old.write_text("#!/bin/sh\nexit 1\n")  # what the version probe of an older Python amounts to
    old.chmod(0o755)
    for python in (str(old), "/nonexistent/python3"):
        proc = install(
            {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), "CRAFTER_ACTION_PYTHON": python}
        )
        assert proc.returncode == 2
        assert f"crafter needs Python 3.11 or newer; '{python}' is not" in proc.stderr
    assert not (tmp_path / "crafter-venv").exists()


def test_without_a_python_input_python3_is_preferred_then_python(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "cut", "sha256sum", "uname", "dirname"):
        os.symlink(shutil.which(tool), bin_dir / tool)  # type: ignore[arg-type]
    (bin_dir / "python").write_text("#!/bin/sh\nexit 1\n")  # as on Windows: python, no python3
    (bin_dir / "python").chmod(0o755)
    proc = install({"PATH": str(bin_dir), "RUNNER_TEMP": str(tmp_path)})
    assert proc.returncode == 2
    assert "crafter needs Python 3.11 or newer; 'python' is not" in proc.stderr
    (bin_dir / "python3").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "python3").chmod(0o755)
    assert "'python3' is not" in install({"PATH": str(bin_dir), "RUNNER_TEMP": str(tmp_path)}).stderr


# -- Windows: Scripts\python.exe, and Windows paths for the runner ------------------------------------------
def git_bash(tmp_path: Path) -> Path:
    """Tools that make install.sh and run.sh believe they run in Git Bash on Windows: ``uname -s`` says
    MINGW64 and ``cygpath`` maps /x/y to X:\\y (-w) and back (-u)."""
    tools = tmp_path / "git-bash"
    tools.mkdir()
    (tools / "uname").write_text("#!/bin/sh\necho MINGW64_NT-10.0-20348\n")
    (tools / "cygpath").write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        "  -w) printf '%s\\n' \"D:$2\" | tr / '\\\\\\\\' ;;\n"
        "  -u) printf '%s\\n' \"$2\" | sed 's/^D://' | tr '\\\\\\\\' / ;;\n"
        "esac\n"
    )
    for tool in ("uname", "cygpath"):
        (tools / tool).chmod(0o755)
    return tools


def test_git_bash_fakes_map_paths_both_ways(tmp_path: Path) -> None:
    cygpath = git_bash(tmp_path) / "cygpath"
    windows = subprocess.run([cygpath, "-w", "/a/_temp/x"], capture_output=True, text=True, check=True).stdout
    assert windows == "D:\\a\\_temp\\x\n"
    back = subprocess.run([cygpath, "-u", windows.strip()], capture_output=True, text=True, check=True).stdout
    assert back == "/a/_temp/x\n"


def test_install_on_windows_finds_scripts_and_writes_windows_paths(tmp_path: Path) -> None:
    runner_temp = tmp_path / "temp"
    venv = runner_temp / "crafter-venv"
    fake_venv(venv, "Scripts", ".exe", stamp())
    env = {
        "PATH": f"{git_bash(tmp_path)}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(runner_temp),
        "CRAFTER_ACTION_PATH": str(ROOT),
        "GITHUB_ENV": str(tmp_path / "env"),
        "GITHUB_PATH": str(tmp_path / "path"),
    }
    proc = install(env)
    assert proc.returncode == 0, proc.stderr
    assert "crafter 9.9" in proc.stdout  # Scripts/crafter.exe ran
    win = "D:" + str(venv).replace("/", "\\")
    assert (
        tmp_path / "env"
    ).read_text() == f"CRAFTER_VENV={win}\nCRAFTER_PYTHON={win}\\Scripts\\python.exe\n"
    assert (tmp_path / "path").read_text() == f"{win}\\Scripts\n"


def windows_venv(path: Path) -> Path:
    """A working venv in the Windows layout: Scripts/python.exe (so sys.executable ends in python.exe) and
    Scripts/crafter.exe, seeing the packages of the venv running the tests; crafter.exe logs each call."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    (path / "bin").rename(path / "Scripts")
    scripts = path / "Scripts"
    real = Path(sys.executable).resolve()
    for name in [p.name for p in scripts.iterdir()]:
        (scripts / name).unlink()
    os.symlink(real, scripts / "python.exe")
    (site_packages,) = (path / "lib").glob("python3*/site-packages")
    added = ", ".join(repr(p) for p in site.getsitepackages())
    (site_packages / "test-venv.pth").write_text(f"import site; list(map(site.addsitedir, ({added},)))\n")
    log = path / "crafter-exe.log"
    crafter = scripts / "crafter.exe"
    crafter.write_text(
        f"#!{scripts / 'python.exe'}\nimport sys\n"
        f"open({str(log)!r}, 'a').write(sys.executable + ' ' + ' '.join(sys.argv[1:]) + '\\n')\n"
        "from crafter._internal.cli.main import main\nsys.exit(main())\n"
    )
    crafter.chmod(0o755)
    return path


def test_the_run_step_uses_the_windows_venv(job: Job, tmp_path: Path) -> None:
    venv = windows_venv(tmp_path / "win-venv")
    assert crafter_executable(venv / "Scripts" / "python.exe") == [str(venv / "Scripts" / "crafter.exe")]
    (job.workspace / "app.bin").write_bytes(b"\0app")
    win = "D:" + str(venv).replace("/", "\\")  # as install.sh wrote it to GITHUB_ENV
    job_env = dict(job.env)
    job_env["PATH"] = f"{git_bash(tmp_path)}{os.pathsep}{job_env['PATH']}"
    step = run_step(
        Job(job.root, job_env),
        {"subject-path": "app.bin", "key": str(job.root / "release.key")},
        venv=Path(win),
    )
    assert step.code == 0, step.stderr
    assert Path(step.outputs["bundle-path"]).is_file()
    calls = (venv / "crafter-exe.log").read_text().splitlines()
    commands = [next(a for a in c.split()[1:] if a in {"init", "add", "push", "report"}) for c in calls]
    assert commands == ["init", "add", "push", "report"]  # report: the job summary
    assert all(c.startswith(f"{venv / 'Scripts' / 'python.exe'} ") for c in calls)


def test_crafter_executable_falls_back_to_the_module(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    assert crafter_executable(python) == [str(python), "-m", "crafter"]
    python.parent.mkdir()
    (python.parent / "crafter").write_text("")
    assert crafter_executable(python) == [str(python.parent / "crafter")]


@pytest.mark.parametrize(
    ("internal", "module"), [(True, "crafter._internal.cli.action"), (False, "crafter.cli.action")]
)
def test_run_step_runs_the_action_module_of_the_crafter_installed(
    tmp_path: Path, internal: bool, module: str
) -> None:
    # A `version:` input may install crafter 0.1, whose action runner was crafter.cli.action.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        f'if [[ "$1" == -c ]]; then exit {0 if internal else 1}; fi\n'
        'echo "$@" > "$(dirname "$0")/ran"\n'
    )
    python.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "CRAFTER_VENV": str(venv)}
    done = subprocess.run(["bash", str(ROOT / "action" / "run.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (venv / "bin" / "ran").read_text().split() == ["-m", module]
