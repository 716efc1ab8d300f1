"""``crafter verify``: check a bundle offline (signature, statement, materials, contract, policy replay)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crafter._internal.cli import exit_codes
from crafter._internal.cli.attestation import F, http_timeout, output_option
from crafter.errors import CrafterError

if TYPE_CHECKING:  # the verify package (cryptography, x509) is imported only when verify runs
    from crafter._internal.verify import VerifyResult


#: The options verify takes, shared with ``crafter report`` (which verifies first): :func:`verify_options`
#: applies them, :func:`run_verify` runs the verification they describe.
VERIFY_OPTIONS: tuple[Callable[[F], F], ...] = (
    click.option(
        "-k",
        "--key",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Public key (PEM) of a key-signed bundle [default: the certificate in a keyless bundle].",
    ),
    click.option(
        "--certificate",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="CERT",
        help="Verify with the public key of this X.509 certificate (PEM or DER); not with --key.",
    ),
    click.option(
        "--allow-expired-certificate",
        is_flag=True,
        help="Accept a --certificate whose validity has ended (e.g. a short-lived signing certificate).",
    ),
    click.option(
        "--material",
        "materials",
        multiple=True,
        metavar="FILE|sha256:HEX",
        help="A local file, or a digest, to check against the statement's subjects and recorded materials; "
        "files are also read by --replay (repeatable). A message-signature bundle needs exactly one: the "
        "signed file or its digest.",
    ),
    click.option(
        "--contract",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Check that the attestation has the materials this contract requires.",
    ),
    click.option(
        "--replay", is_flag=True, help="Evaluate every embedded policy evaluation again and compare."
    ),
    click.option(
        "--cas",
        metavar="DIR|oci://REGISTRY/REPO",
        help="--replay: fetch the bytes of materials no --material file matches from this content store "
        "(as written by add --cas), checked against their digests.",
    ),
    click.option(
        "--insecure", is_flag=True, help="Reach an oci:// registry (bundle or --cas) over plain HTTP."
    ),
    click.option(
        "--certificate-identity", help="Keyless: the identity (email or URI) the certificate must name."
    ),
    click.option("--certificate-oidc-issuer", help="Keyless: the OIDC issuer the certificate must name."),
    click.option(
        "--certificate-identity-regexp",
        metavar="REGEXP",
        help="Keyless: a regular expression the whole identity must match (instead of --certificate-identity).",
    ),
    click.option(
        "--certificate-oidc-issuer-regexp",
        metavar="REGEXP",
        help="Keyless: a regular expression the whole OIDC issuer must match.",
    ),
    click.option(
        "--trusted-root",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Keyless: a Sigstore TrustedRoot JSON file (CAs, TSAs, logs) [default: Sigstore public-good's].",
    ),
    click.option(
        "--ca-roots",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PEM",
        help="Keyless: trust the CA root certificates in this PEM file (a private CA, e.g. Chainloop's).",
    ),
    click.option(
        "--ca-intermediates",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PEM",
        help="Keyless, with --ca-roots: intermediate CA certificates.",
    ),
    click.option(
        "--timestamp-certificate-chain",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PEM",
        help="Verify the bundle's RFC 3161 timestamps against this timestamp authority's chain: its root "
        "(self-signed), optionally intermediates and the TSA's certificate; without it timestamps of a "
        "key-signed bundle are shown, not verified.",
    ),
    click.option("--staging", is_flag=True, help="Keyless: trust Sigstore's staging instance instead."),
    click.option(
        "--require-tlog",
        is_flag=True,
        help="A key-signed bundle must carry a transparency-log entry (verified against the trust root).",
    ),
    click.option(
        "--insecure-ignore-tlog",
        is_flag=True,
        help="Keyless: neither require nor use transparency-log entries.",
    ),
    click.option(
        "--insecure-current-time",
        is_flag=True,
        help="Keyless: when the bundle has no verified time of signing, check the certificate against the "
        "current time instead of failing (proves nothing once it expires).",
    ),
    click.option(
        "--policy-cache",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="CRAFTER_POLICY_CACHE",
        help="Cache of remote policies by digest, for --replay (nothing is downloaded) [env CRAFTER_POLICY_CACHE].",
    ),
    click.option(
        "--policy-timeout",
        type=click.FloatRange(min=0.001),
        default=60.0,
        show_default=True,
        help="Seconds one replayed policy evaluation may take.",
    ),
    click.option(
        "--rego-backend",
        type=click.Choice(["regopy", "opa"]),
        default="regopy",
        show_default=True,
        help="Rego evaluator for --replay.",
    ),
)


def verify_options(f: F) -> F:
    """Apply :data:`VERIFY_OPTIONS` to a command (the first listed is shown first in ``--help``)."""
    for option in reversed(VERIFY_OPTIONS):
        f = option(f)
    return f


@click.command(epilog=exit_codes.epilog("verify"))
@click.argument("bundle")
@verify_options
@output_option
def verify(bundle: str, output: str, **options: Any) -> None:
    """Verify BUNDLE (a Sigstore bundle or a bare DSSE envelope file, or oci://REGISTRY/REPO[:TAG|@DIGEST]):
    signature, trust, statement, and optionally materials, contract and policy results. An attestation of
    any in-toto predicate, or a message signature over a file (give the file with --material). Offline, but
    for fetching an oci:// bundle and --cas oci:// contents.
    """
    try:
        result = run_verify(bundle, **options)
    except CrafterError as exc:
        if output == "json":  # one JSON document on failure too, for scripts
            click.echo(json.dumps(failure_document(bundle, exc), indent=2, ensure_ascii=False))
        raise
    if output == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        _table(result)
    for outcome in result.not_replayed:
        click.echo(
            f"Warning: not replayed: {outcome.name} on {outcome.material or 'the attestation'}: {outcome.detail}",
            err=True,
        )
    for note in result.signer.notes:
        click.echo(f"Warning: {note}", err=True)
    if any(not t.verified for t in result.timestamps):
        click.echo(
            "Warning: the bundle's RFC 3161 timestamps were not verified: give the TSA's chain with "
            "--timestamp-certificate-chain PEM",
            err=True,
        )
    result.check()


def run_verify(bundle: str, **options: Any) -> VerifyResult:
    """Verify ``bundle`` as ``crafter verify`` does with these options (:data:`VERIFY_OPTIONS`), without raising
    on a failed material, contract or replay check: the result says so (:meth:`VerifyResult.failure`). A
    signature or trust failure, a usage error or an unreachable registry raises."""
    from crafter._internal.verify.request import VerifyRequest, verify

    request = VerifyRequest(bundle=bundle, http_timeout=http_timeout(), **options)
    return verify(request, raise_on_failure=False)


#: What failed, by exit code, when verification stopped before it had a result.
_FAILED_CHECK = {11: "signature", 12: "materials", 13: "replay", 7: "contract", 2: "usage", 20: "store"}


def failure_document(bundle: str, error: CrafterError) -> dict[str, object]:
    """The JSON document ``verify -o json`` prints when verification fails: the whole result when there is
    one (with ``verified: false`` and ``error``), else what failed and why."""
    from crafter._internal.verify import VerifyResult
    from crafter._internal.verify.result import error_dict

    if isinstance(error.result, VerifyResult):
        return error.result.to_dict()
    return {
        "bundle": bundle,
        "verified": False,
        "checks": {_FAILED_CHECK.get(int(error.exit_code), "verify"): "failed"},
        "error": error_dict(error),
    }


def _table(result: VerifyResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    signer = result.signer
    who = "public key" if signer.kind == "key" else f"certificate: {signer.identity} (issuer {signer.issuer})"
    if signer.certificate_file:
        who = f"certificate {signer.certificate_file}: {signer.identity}"
        who += f", expired {signer.not_after}" if signer.expired else f", valid until {signer.not_after}"
    head = Table(title=f"{result.kind_label} {result.path}", title_justify="left", show_header=False)
    head.add_column(overflow="fold")
    head.add_column(overflow="fold")
    head.add_row("signature", f"valid ({who})")
    if result.certificate_problem:
        head.add_row("certificate", f"REFUSED: {result.certificate_problem}")
    if signer.trust_root:  # what the certificate, log entries and timestamps were checked against
        chain = f"; chain: {' <- '.join(signer.chain)}" if signer.chain else ""
        head.add_row("trust root", f"{signer.trust_root}{chain}")
        if signer.signed_at:
            head.add_row("signed at", "; ".join(signer.signed_at))
        sct = f"; SCT {signer.sct}" if signer.sct else ""
        head.add_row("transparency", f"{signer.tlog_entries} log entries verified{sct}")
    for stamp in result.timestamps:  # RFC 3161 timestamps over the signature
        head.add_row("timestamp", f"{stamp.describe()} ({'verified' if stamp.verified else 'NOT verified'})")
    if result.content == "dsse":
        head.add_row("payload", f"{result.payload_type}, {result.payload_digest}")
        head.add_row("predicate", result.predicate_type)
    else:
        head.add_row("artifact", f"{result.artifact} ({result.payload_digest})")
    pol = result.policy
    if pol:
        head.add_row(
            "policies",
            f"{pol['status']}: {pol['evaluations']} evaluations, {pol['violations']} with violations, "
            f"{pol['skipped']} skipped, {pol['passed']} passed ({pol['strategy'] or 'ADVISORY'})",
        )
    console.print(head)
    _rows(console, Table, "Subjects", ["name", "digest"], [[s["name"], s["digest"]] for s in result.subjects])
    _rows(
        console,
        Table,
        "Materials",
        ["name", "type", "value", "digest"],
        [[m["name"], m["type"], m["value"], m["digest"]] for m in result.materials],
    )
    if result.material_checks:
        _rows(
            console,
            Table,
            "Material files",
            ["file", "result"],
            [[c.file, f"matches {c.matched}" if c.matched else c.problem] for c in result.material_checks],
        )
    if result.replayed:
        _rows(
            console,
            Table,
            "Replay",
            ["policy", "material", "result", "detail"],
            [[r.name, r.material or "(attestation)", r.status, r.detail] for r in result.replay],
        )


def _rows(console: object, table_cls: type, title: str, columns: list[str], rows: list[list[str]]) -> None:
    """A table of the first :data:`render.MAX_ROWS` rows, then how many more there are (-o json has them all):
    rich lays out a table of thousands of rows in seconds."""
    from crafter._internal.cli.render import MAX_ROWS, more_line

    if not rows:
        return
    table = table_cls(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows[:MAX_ROWS]:
        table.add_row(*row)
    console.print(table)  # type: ignore[attr-defined]
    if len(rows) > MAX_ROWS:
        click.echo(more_line(len(rows) - MAX_ROWS))
