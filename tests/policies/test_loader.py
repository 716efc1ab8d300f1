"""The policy loader: where each reference form points, pins and recorded digests, built-in policies and
groups, refused forms, and remote fetches against loopback servers (HTTP, HTTPS, silent, too large)."""

from __future__ import annotations

import hashlib
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from crafter._internal.policies.args import compute_arguments, interpolate_group_material_name
from crafter._internal.policies.loader import PolicyLoader, split_pin
from crafter._internal.policies.spec import PolicyReference
from crafter.errors import PolicyError

from .conftest import Route, Server

REGO = "package main\n\nimport rego.v1\n\nresult := {}\n"


def policy_text(name: str, script: str = "embedded: |\n        package main\n        result := {}\n") -> str:
    return (
        "apiVersion: chainloop.dev/v1\nkind: Policy\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  policies:\n    - kind: SBOM_CYCLONEDX_JSON\n      {script}"
    )


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path


def loader(work: Path, **kw: Any) -> PolicyLoader:
    kw.setdefault("builtin_dir", work / "builtin")
    kw.setdefault("cache_dir", None)
    return PolicyLoader(cwd=work / "work", **kw)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any attempt to open a URL."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader tried to use the network")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", refuse)


# -- files -----------------------------------------------------------------------------------------------------
def test_relative_path_resolves_against_the_referring_file_first(work: Path) -> None:
    contract = write(work / "contracts" / "contract.yaml", "schemaVersion: v1\n")
    write(work / "contracts" / "p.yaml", policy_text("next-to-contract"))
    write(work / "work" / "p.yaml", policy_text("in-cwd"))
    write(work / "work" / "q.yaml", policy_text("only-in-cwd"))
    ld = loader(work)
    assert ld.load_policy("p.yaml", base=str(contract)).name == "next-to-contract"
    assert ld.load_policy("q.yaml", base=str(contract)).name == "only-in-cwd"
    assert ld.load_policy("p.yaml").name == "in-cwd"  # no referring file: the working directory
    # A file:// URI of the referring document works as a base too (what a loaded group records).
    assert ld.load_policy("./p.yaml", base=f"file://{contract}").name == "next-to-contract"


def test_missing_file_names_the_reference_and_where_it_looked(work: Path) -> None:
    contract = write(work / "contracts" / "contract.yaml", "")
    with pytest.raises(PolicyError) as err:
        loader(work).load_policy("nope.yaml", base=str(contract))
    assert err.value.message == "nope.yaml: file not found"
    assert err.value.hint == f"looked for: {work / 'contracts' / 'nope.yaml'}, {work / 'work' / 'nope.yaml'}"


def test_file_uri_relative_and_absolute(work: Path) -> None:
    text = policy_text("made-with-syft")
    path = write(work / "work" / "testdata" / "sbom_syft.yaml", text)
    ld = loader(work)
    for ref in ("file://testdata/sbom_syft.yaml", f"file://{path}", str(path), "testdata/sbom_syft.yaml"):
        p = ld.load_policy(ref)
        assert p.reference == PolicyReference(
            name="made-with-syft", uri="file://" + path.as_posix(), digest="sha256:" + sha(text)
        )


def test_pinned_file_reference(work: Path) -> None:
    text = policy_text("pinned")
    write(work / "work" / "p.yaml", text)
    ld = loader(work)
    p = ld.load_policy(f"file://p.yaml@sha256:{sha(text)}")
    assert p.reference is not None and p.reference.digest == f"sha256:{sha(text)}"
    assert p.reference.uri.endswith("/work/p.yaml") and "@" not in p.reference.uri
    wrong = "0" * 64
    with pytest.raises(PolicyError) as err:
        ld.load_policy(f"file://p.yaml@sha256:{wrong}")
    assert err.value.message == (
        f"file://p.yaml@sha256:{wrong}: digest mismatch: got sha256:{sha(text)}, want sha256:{wrong}"
    )
    with pytest.raises(PolicyError, match="malformed digest"):
        ld.load_policy("p.yaml@sha256:deadbeef")


def test_pin_is_split_on_the_last_marker() -> None:
    a, b = "a" * 64, "b" * 64
    assert split_pin(f"dir@sha256:{a}/p.yaml@sha256:{b}") == (f"dir@sha256:{a}/p.yaml", b)
    assert split_pin(f"p.yaml@sha256:{a.upper()}") == ("p.yaml", a)
    assert split_pin("p.yaml") == ("p.yaml", "")


def test_script_references_resolve_against_the_policy_file(work: Path) -> None:
    write(work / "lib" / "p.yaml", policy_text("p", "ref: policy.rego\n"))
    write(work / "lib" / "policy.rego", REGO)
    write(work / "work" / "policy.rego", "package wrong\n")
    p = loader(work).load_policy("../lib/p.yaml")
    assert p.scripts[0].source == REGO.encode()
    assert p.scripts[0].origin == str(work / "lib" / "policy.rego")


def test_script_references_do_not_fall_back_to_the_working_directory(work: Path) -> None:
    write(work / "lib" / "p.yaml", policy_text("p", "ref: policy.rego\n"))
    write(work / "work" / "policy.rego", REGO)
    with pytest.raises(PolicyError) as err:
        loader(work).load_policy("../lib/p.yaml")
    assert "spec.policies[0].ref: policy.rego: file not found" in err.value.message


def test_pinned_script_reference(work: Path) -> None:
    write(work / "work" / "policy.rego", REGO)
    write(work / "work" / "ok.yaml", policy_text("ok", f"ref: policy.rego@sha256:{sha(REGO)}\n"))
    write(work / "work" / "bad.yaml", policy_text("bad", f"path: file://policy.rego@sha256:{'1' * 64}\n"))
    ld = loader(work)
    assert ld.load_policy("ok.yaml").scripts[0].source == REGO.encode()
    with pytest.raises(PolicyError, match="digest mismatch: got sha256:"):
        ld.load_policy("bad.yaml")


def test_embedded_policy_has_a_name_only_reference(work: Path) -> None:
    contract = write(work / "contracts" / "c.yaml", "")
    write(work / "contracts" / "policy.rego", REGO)
    doc = {
        "apiVersion": "chainloop.dev/v1",
        "kind": "Policy",
        "metadata": {"name": "inline"},
        "spec": {"policies": [{"kind": "SARIF", "ref": "policy.rego"}]},
    }
    p = loader(work).load_embedded(doc, base=str(contract))
    assert p.reference == PolicyReference(name="inline")
    assert p.scripts[0].source == REGO.encode()
    with pytest.raises(PolicyError) as err:
        loader(work).load_embedded({"kind": "Policy", "metadata": {"name": "x"}, "spec": {"embedded": "x"}})
    assert err.value.message == "embedded policy: (top level): missing required key 'apiVersion'"


def test_documents_that_are_not_policies(work: Path) -> None:
    write(work / "work" / "bad.yaml", "kind: [unclosed\n")
    write(work / "work" / "p.cue", "x: 1\n")
    write(work / "work" / "bin.yaml", b"\xff\xfe")
    write(work / "work" / "typo.yaml", policy_text("typo").replace("policies:", "policy:"))
    ld = loader(work)
    with pytest.raises(
        PolicyError, match=r"bad\.yaml: invalid YAML at line 2, column 1: unclosed flow sequence"
    ):
        ld.load_policy("bad.yaml")
    with pytest.raises(PolicyError, match="CUE format is no longer supported"):
        ld.load_policy("p.cue")
    with pytest.raises(PolicyError, match="not a YAML or JSON document"):
        ld.load_policy("bin.yaml")
    with pytest.raises(PolicyError) as err:
        ld.load_policy("typo.yaml")
    # The unknown key is given by its line, not quoted: a reference may name any file (docs/security.md).
    line = policy_text("typo").replace("policies:", "policy:").splitlines().index("  policy:") + 1
    assert err.value.message == f"{work / 'work' / 'typo.yaml'}: unknown key at line {line} in spec"
    with pytest.raises(PolicyError, match="is a directory"):
        ld.load_policy(str(work))


# -- built-in policies and groups --------------------------------------------------------------------------------
@pytest.fixture
def builtin(work: Path) -> Path:
    root = work / "builtin"
    write(
        root / "sbom-banned-licenses" / "policy.yaml",
        policy_text("sbom-banned-licenses", "ref: policy.rego\n"),
    )
    write(root / "sbom-banned-licenses" / "policy.rego", REGO)
    write(
        root / "groups" / "sbom-quality.yaml",
        "apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata: {name: sbom-quality}\n"
        "spec:\n  policies:\n    materials:\n      - type: SBOM_CYCLONEDX_JSON\n"
        "        policies: [{ref: sbom-banned-licenses}]\n",
    )
    return root


def test_builtin_references(work: Path, builtin: Path) -> None:
    ld = loader(work)
    raw = (builtin / "sbom-banned-licenses" / "policy.yaml").read_bytes()
    for ref in (
        "builtin://sbom-banned-licenses",
        "sbom-banned-licenses",
        f"sbom-banned-licenses@sha256:{sha(raw)}",
    ):
        p = ld.load_policy(ref)
        assert p.reference == PolicyReference(
            "sbom-banned-licenses", "builtin://sbom-banned-licenses", f"sha256:{sha(raw)}"
        )
        assert p.scripts[0].origin == str(builtin / "sbom-banned-licenses" / "policy.rego")
    with pytest.raises(PolicyError, match="digest mismatch"):
        ld.load_policy(f"builtin://sbom-banned-licenses@sha256:{'2' * 64}")


def test_unknown_builtin_lists_what_is_shipped(work: Path, builtin: Path) -> None:
    with pytest.raises(PolicyError) as err:
        loader(work).load_policy("sbom-banned-license")
    assert err.value.message == "sbom-banned-license: no built-in policy named 'sbom-banned-license'"
    assert (
        err.value.hint
        == "built-in policies: sbom-banned-licenses; for a local file, write ./sbom-banned-license"
    )
    with pytest.raises(PolicyError, match=r"no built-in policy named '\.\./x'"):
        loader(work).load_policy("builtin://../x")


def test_builtin_group_and_its_members(work: Path, builtin: Path) -> None:
    ld = loader(work)
    for ref in ("builtin://sbom-quality", "sbom-quality"):
        g = ld.load_group(ref)
        assert g.reference is not None and g.reference.uri == "builtin://sbom-quality"
        assert g.reference.digest == "sha256:" + sha((builtin / "groups" / "sbom-quality.yaml").read_bytes())
    member = g.materials[0].policies[0]
    assert ld.load_policy(member.ref, base=g.reference.uri).name == "sbom-banned-licenses"
    with pytest.raises(PolicyError) as err:
        ld.load_group("builtin://nope")
    assert err.value.hint == "built-in groups: sbom-quality"


def test_shipped_policies_load(work: Path) -> None:
    from crafter._internal.resources import policies_dir

    shipped = sorted(p.parent.name for p in policies_dir().glob("*/policy.yaml"))
    ld = PolicyLoader(cwd=work, builtin_dir=policies_dir(), cache_dir=None)
    for name in shipped:
        p = ld.load_policy(f"builtin://{name}")
        assert p.name == name and p.scripts
    for group in sorted(policies_dir().glob("groups/*.yaml")):
        assert ld.load_group(group.stem).name == group.stem


# -- refused forms ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ref",
    [
        "chainloop://cyclonedx-freshness",
        "chainloop://builtin:myorg/cyclonedx-freshness@sha256:" + "1" * 64,
        "provider:cyclonedx-freshness",
        "builtin:myorg/cyclonedx-freshness",
    ],
)
def test_control_plane_references_are_refused_with_alternatives(
    work: Path, ref: str, no_network: None
) -> None:
    with pytest.raises(PolicyError) as err:
        loader(work).load_policy(ref)
    assert err.value.message.startswith(f"{ref}: Chainloop control-plane references")
    assert "a file path, an https:// URL, or builtin://NAME" in err.value.message


@pytest.mark.parametrize(
    ("ref", "scheme"), [("env://environmentvar", "env"), ("s3://bucket/p.yaml", "s3"), ("ftp://h/p", "ftp")]
)
def test_other_schemes_are_refused(work: Path, ref: str, scheme: str, no_network: None) -> None:
    with pytest.raises(PolicyError) as err:
        loader(work).load_policy(ref)
    assert err.value.message == f"{ref}: policy scheme not supported: {scheme}"
    assert err.value.hint is not None and "builtin://NAME" in err.value.hint


def test_empty_reference(work: Path) -> None:
    with pytest.raises(PolicyError, match="empty policy reference"):
        loader(work).load_policy("")


def test_plain_http_elsewhere_is_refused_before_any_network_access(work: Path, no_network: None) -> None:
    with pytest.raises(PolicyError) as err:
        loader(work).load_policy("http://policies.example.com/p.yaml")
    assert err.value.message.startswith("http://policies.example.com/p.yaml: plain http:// is only allowed")


def test_remote_documents_cannot_refer_to_local_files(work: Path, http_server: Server) -> None:
    http_server.routes["/g.yaml"] = Route(
        b"apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata: {name: g}\nspec: {}\n"
    )
    g = loader(work).load_group(http_server.url("/g.yaml"))
    assert g.reference is not None
    for ref in ("file:///etc/passwd", "/etc/passwd"):
        with pytest.raises(PolicyError, match="a remote document cannot refer to a local file"):
            loader(work).load_policy(ref, base=g.reference.uri)


# -- network -----------------------------------------------------------------------------------------------------------
def test_http_to_loopback_and_relative_script(work: Path, http_server: Server) -> None:
    text = policy_text("remote", "ref: scripts/policy.rego\n")
    http_server.routes["/lib/p.yaml"] = Route(text.encode())
    http_server.routes["/lib/scripts/policy.rego"] = Route(REGO.encode())
    ld = loader(work)
    p = ld.load_policy(http_server.url("/lib/p.yaml"))
    assert p.reference == PolicyReference("remote", http_server.url("/lib/p.yaml"), "sha256:" + sha(text))
    assert p.scripts[0].source == REGO.encode()
    assert p.scripts[0].origin == http_server.url("/lib/scripts/policy.rego")
    # Loaded once per loader, however often it is referenced.
    ld.load_policy(http_server.url("/lib/p.yaml"))
    assert http_server.requests == ["/lib/p.yaml", "/lib/scripts/policy.rego"]


def test_relative_reference_from_a_remote_group(work: Path, http_server: Server) -> None:
    http_server.routes["/groups/g.yaml"] = Route(
        b"apiVersion: chainloop.dev/v1\nkind: PolicyGroup\nmetadata: {name: g}\n"
        b"spec:\n  policies:\n    attestation: [{ref: ../policies/p.yaml}]\n"
    )
    http_server.routes["/policies/p.yaml"] = Route(policy_text("member").encode())
    ld = loader(work)
    g = ld.load_group(http_server.url("/groups/g.yaml"))
    assert g.reference is not None
    assert ld.load_policy(g.attestation[0].ref, base=g.reference.uri).name == "member"


def test_http_errors(work: Path, http_server: Server) -> None:
    http_server.routes["/gone.yaml"] = Route(b"", 410)
    ld = loader(work)
    with pytest.raises(PolicyError) as err:
        ld.load_policy(http_server.url("/missing.yaml"))
    assert err.value.message == f"{http_server.url('/missing.yaml')}: HTTP 404 Not Found"
    with pytest.raises(PolicyError, match="HTTP 410 Gone"):
        ld.load_policy(http_server.url("/gone.yaml"))


def test_pinned_remote_reference(work: Path, http_server: Server) -> None:
    text = policy_text("remote")
    http_server.routes["/p.yaml"] = Route(text.encode())
    url = http_server.url("/p.yaml")
    assert loader(work).load_policy(f"{url}@sha256:{sha(text)}").reference == PolicyReference(
        "remote", url, "sha256:" + sha(text)
    )
    with pytest.raises(PolicyError, match=f"digest mismatch: got sha256:{sha(text)}, want sha256:{'3' * 64}"):
        loader(work).load_policy(f"{url}@sha256:{'3' * 64}")


def test_redirects(work: Path, http_server: Server) -> None:
    http_server.routes["/p.yaml"] = Route(policy_text("moved").encode())
    http_server.routes["/old.yaml"] = Route(b"", 302, {"Location": "/p.yaml"})
    http_server.routes["/evil.yaml"] = Route(b"", 302, {"Location": "file:///etc/passwd"})
    http_server.routes["/away.yaml"] = Route(b"", 302, {"Location": "http://policies.example.com/p.yaml"})
    ld = loader(work)
    assert ld.load_policy(http_server.url("/old.yaml")).name == "moved"
    # urllib refuses other schemes itself; our check refuses plain http to other hosts.
    with pytest.raises(
        PolicyError, match="HTTP 302 Found - Redirection to url 'file:///etc/passwd' is not allowed"
    ):
        ld.load_policy(http_server.url("/evil.yaml"))
    with pytest.raises(PolicyError, match="plain http:// is only allowed"):
        ld.load_policy(http_server.url("/away.yaml"))


def test_https_with_a_private_ca(work: Path, tls_server: tuple[Server, Path]) -> None:
    server, ca_file = tls_server
    text = policy_text("over-tls")
    server.routes["/p.yaml"] = Route(text.encode())
    url = server.url("/p.yaml")
    assert url.startswith("https://127.0.0.1:")
    p = loader(work, ca_file=str(ca_file)).load_policy(url)
    assert p.reference == PolicyReference("over-tls", url, "sha256:" + sha(text))
    # Without the CA the certificate is not trusted.
    with pytest.raises(PolicyError, match="CERTIFICATE_VERIFY_FAILED"):
        loader(work).load_policy(url)


def test_timeout(work: Path, silent_server: str) -> None:
    start = time.monotonic()
    with pytest.raises(PolicyError) as err:
        loader(work, timeout=0.5).load_policy(silent_server)
    assert err.value.message == f"{silent_server}: no complete answer within 0.5 s (--http-timeout)"
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("send_length", [True, False])
def test_size_cap(work: Path, http_server: Server, send_length: bool) -> None:
    text = policy_text("small").encode()
    http_server.routes["/ok.yaml"] = Route(text, send_length=send_length)
    http_server.routes["/big.yaml"] = Route(text + b"#" * (1001 - len(text)), send_length=send_length)
    ld = loader(work, max_bytes=1000)
    assert ld.load_policy(http_server.url("/ok.yaml")).name == "small"
    with pytest.raises(PolicyError) as err:
        ld.load_policy(http_server.url("/big.yaml"))
    assert (
        err.value.message
        == f"{http_server.url('/big.yaml')}: the document is larger than 1000 bytes: refused"
    )


def test_cache_serves_a_pinned_reference_offline(work: Path, http_server: Server) -> None:
    text = policy_text("cached", "ref: policy.rego\n")
    http_server.routes["/p.yaml"] = Route(text.encode())
    http_server.routes["/policy.rego"] = Route(REGO.encode())
    url = http_server.url("/p.yaml")
    cache = work / "cache"
    pinned = f"{url}@sha256:{sha(text)}"
    loader(work, cache_dir=cache).load_policy(url)  # unpinned loads fill the cache too
    assert (cache / "sha256" / sha(text)).read_bytes() == text.encode()
    http_server.stop()

    # The document comes from the cache; its script is unpinned, so it would need the network.
    with pytest.raises(PolicyError, match="cannot fetch"):
        loader(work, cache_dir=cache).load_policy(pinned)
    http_server.routes.clear()
    pinned_script = policy_text("cached", f"ref: policy.rego@sha256:{sha(REGO)}\n")
    write(cache / "sha256" / sha(pinned_script), pinned_script)
    p = loader(work, cache_dir=cache).load_policy(f"{url}@sha256:{sha(pinned_script)}")
    assert p.scripts[0].source == REGO.encode()
    assert p.reference is not None and p.reference.digest == "sha256:" + sha(pinned_script)
    with pytest.raises(PolicyError, match="cannot fetch"):
        loader(work, cache_dir=cache).load_policy(url)  # unpinned: always fetched


def test_cache_lets_a_pinned_plain_http_reference_through_without_network(
    work: Path, no_network: None
) -> None:
    text = policy_text("mirrored")
    cache = work / "cache"
    write(cache / "sha256" / sha(text), text)
    write(cache / "sha256" / ("4" * 64), text)  # a damaged entry is never trusted
    ref = f"http://policies.example.com/p.yaml@sha256:{sha(text)}"
    assert loader(work, cache_dir=cache).load_policy(ref).name == "mirrored"
    with pytest.raises(AssertionError, match="network"):
        loader(work, cache_dir=cache).load_policy(f"http://policies.example.com/p.yaml@sha256:{'4' * 64}")


# -- groups ----------------------------------------------------------------------------------------------------------
GROUP = """apiVersion: chainloop.dev/v1
kind: PolicyGroup
metadata:
  name: group-with-inputs
spec:
  inputs:
    - name: sbom_name
      default: "sbom"
    - name: user_name
      required: true
    - name: domainName
      default: "chainloop.dev"
  policies:
    materials:
      - name: "{{ inputs.sbom_name }}"
        type: SBOM_CYCLONEDX_JSON
        policies:
          - ref: policy_with_inputs.yaml
            with:
              email: "{{inputs.user_name}}@{{inputs.domainName}}"
"""

POLICY_WITH_INPUTS = """apiVersion: chainloop.dev/v1
kind: Policy
metadata: {name: policy-with-inputs}
spec:
  inputs:
    - name: email
      required: true
  policies:
    - kind: SBOM_CYCLONEDX_JSON
      embedded: "package main\\nresult := {}\\n"
"""


def test_group_with_material_name_templates(work: Path) -> None:
    write(work / "groups" / "group.yaml", GROUP)
    write(work / "groups" / "policy_with_inputs.yaml", POLICY_WITH_INPUTS)
    ld = loader(work)
    g = ld.load_group("../groups/group.yaml")
    assert g.reference is not None and g.reference.name == "group-with-inputs"
    assert g.reference.digest == "sha256:" + sha(GROUP)

    cases = [
        ({"user_name": "devel"}, "sbom", "devel@chainloop.dev"),
        ({"user_name": "foo", "domainName": "bar.com", "sbom_name": "foo"}, "foo", "foo@bar.com"),
    ]
    for given, material, email in cases:
        args = compute_arguments(g.name, g.inputs, given, None)
        gm = g.materials[0]
        assert interpolate_group_material_name(gm.name, args) == material
        member = ld.load_policy(gm.policies[0].ref, base=g.reference.uri)
        assert compute_arguments(member.name, member.inputs, gm.policies[0].with_, args) == {"email": email}
    with pytest.raises(PolicyError, match='missing required input "user_name"'):
        compute_arguments(g.name, g.inputs, {}, None)


def test_group_pins(work: Path) -> None:
    write(work / "work" / "testdata" / "group.yaml", GROUP)
    ld = loader(work)
    assert ld.load_group(f"file://testdata/group.yaml@sha256:{sha(GROUP)}").name == "group-with-inputs"
    with pytest.raises(PolicyError, match="digest mismatch"):
        ld.load_group(f"file://testdata/group.yaml@sha256:{'5' * 64}")


def test_a_policy_is_not_a_group(work: Path) -> None:
    write(work / "work" / "p.yaml", policy_text("p"))
    with pytest.raises(PolicyError, match=r'kind \(line 2\): expected "PolicyGroup"'):
        loader(work).load_group("p.yaml")
