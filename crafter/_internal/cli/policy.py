"""``crafter policy``: evaluate one policy on one file (``eval``), run policies' fixture cases (``test``) and
create a new policy project from a template (``init``).

Parse, call the library (:func:`crafter._internal.policies.verifier.evaluate_policy`, :mod:`crafter._internal.policies.testing`),
render. Heavy modules are imported inside the commands: ``crafter --help`` must stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from crafter._internal.cli import exit_codes
from crafter._internal.cli.attestation import PolicyFlags, output_option, policy_options

if TYPE_CHECKING:
    from crafter._internal.policies.testing import CaseResult
    from crafter._internal.policy_record import PolicyEvaluation


# The same --policy-timeout, --rego-backend, --policy-allowed-host, --wasm-memory-mib and --rego-memory-mib as
# init, add and push.
_engine_options = policy_options(enforce=False, inputs=False)


@click.group(epilog=exit_codes.epilog("policy"))
def policy() -> None:
    """Evaluate policies, run their test cases and start new ones.

    \b
    crafter policy eval --policy builtin://sbom-freshness --material sbom.cdx.json
    crafter policy test policies/
    crafter policy init --engine wasm my-policy
    """


@policy.command("eval", epilog=exit_codes.epilog("policy eval"))
@click.option("--policy", "ref", required=True, help="Policy reference: a file, builtin://NAME, https://...")
@click.option(
    "--material",
    required=True,
    help="The file (or, with --kind, the value) to evaluate; an in-toto statement JSON with --kind ATTESTATION.",
)
@click.option("--kind", help="Material kind, e.g. SBOM_CYCLONEDX_JSON, or ATTESTATION [default: detected].")
@click.option("--input", "inputs", multiple=True, metavar="NAME=VALUE", help="A policy input (repeatable).")
@click.option(
    "--evaluation-time",
    metavar="RFC3339",
    help="The time the policy is told it is evaluated at [default: now].",
)
@click.option("--show-input", is_flag=True, help="Also print the input document the policy received.")
@click.option(
    "--no-strict-validation", is_flag=True, help="Accept a parseable file that fails its format's schema."
)
@_engine_options
@output_option
def eval_(
    ref: str,
    material: str,
    kind: str | None,
    inputs: tuple[str, ...],
    evaluation_time: str | None,
    show_input: bool,
    no_strict_validation: bool,
    policy: PolicyFlags,
    output: str,
) -> None:
    """Evaluate one policy on one material (or statement) and print the result."""
    from crafter._internal.crafter import parse_key_values
    from crafter._internal.policies.verifier import evaluate_policy
    from crafter.errors import PolicyError

    kind_name = kind.upper() if kind else None
    if kind_name is None and not Path(material).exists():
        from crafter.errors import MaterialError

        raise MaterialError(
            f"{material}: no such file",
            hint="give --kind for a value that is not a file (STRING, CONTAINER_IMAGE)",
        )
    evaluation = evaluate_policy(
        ref,
        material=material,
        kind=kind_name,
        args=parse_key_values(inputs, "input"),
        options=policy.options(),
        cwd=Path.cwd(),
        evaluation_time=evaluation_time,
        strict=not no_strict_validation,
    )
    if evaluation is None:
        raise PolicyError(
            f"no execution branch matched, or all of them were ignored, for kind {kind_name or 'detected'}",
            hint="the policy has no script for this kind (give --kind, or check spec.policies[].kind)",
        )
    _render_evaluation(evaluation, output, show_input, policy.rego_backend)


def _input_document(evaluation: PolicyEvaluation) -> Any:
    """The document the policy received: the input bytes plus ``args`` as engines add them."""
    from crafter._internal.policies.args import engine_args

    doc = json.loads(evaluation.input_json) if evaluation.input_json else {}
    if isinstance(doc, dict):
        doc["args"] = engine_args(evaluation.with_)
    return doc


def _render_evaluation(
    evaluation: PolicyEvaluation, output: str, show_input: bool, rego_backend: str
) -> None:
    messages = [v.message for v in evaluation.violations]
    engine = evaluation.engine
    if engine == "rego":
        engine = f"rego ({rego_backend})"
    if output == "json":
        data: dict[str, Any] = {
            "policy": evaluation.name,
            "kind": evaluation.type,
            "status": evaluation.status,
            "result": {
                "violations": messages,
                "skip_reasons": list(evaluation.skip_reasons),
                "skipped": evaluation.skipped,
            },
            "with": dict(evaluation.with_),
            "evaluation_time": evaluation.evaluated_at,
            "engine": engine,
            "duration_ms": evaluation.duration_ms,
        }
        if show_input:
            data["input"] = _input_document(evaluation)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    status = evaluation.status
    if status == "violated":
        status += f" ({len(messages)} violation{'s' if len(messages) != 1 else ''})"
    rows = [
        ("Policy", evaluation.name),
        ("Kind", evaluation.type),
        ("Result", status),
        ("Engine", engine),
        ("Duration", f"{evaluation.duration_ms} ms"),
        ("Evaluated at", evaluation.evaluated_at),
    ]
    if evaluation.with_:
        rows.append(("Inputs", ", ".join(f"{k}={v}" for k, v in evaluation.with_.items())))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{label.ljust(width)}  {value}")
    for reason in evaluation.skip_reasons:
        click.echo(f"Skipped: {reason}")
    for message in messages:
        click.echo(f"Violation: {message}")
    if show_input:
        click.echo("Input document:")
        click.echo(json.dumps(_input_document(evaluation), indent=2, ensure_ascii=False))


@policy.command("test", epilog=exit_codes.epilog("policy test"))
@click.argument("directories", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@_engine_options
@output_option
def test(
    directories: tuple[Path, ...],
    policy: PolicyFlags,
    output: str,
) -> None:
    """Run the fixture cases (tests/*.yaml) of the policies under DIRECTORIES [default: policies].

    Exits with 1 when a case fails, or when a directory is missing or holds no cases.
    """
    from crafter._internal.policies.testing import find_cases, run_case
    from crafter.errors import CrafterError

    options = policy.options()
    results: list[CaseResult] = []
    for directory in directories or (Path("policies"),):
        if not directory.is_dir():  # nothing to test, as for a directory without cases: exit 1
            raise CrafterError(
                f"{directory}: no such directory",
                hint="give a policy directory or a tree of them [default: ./policies]",
            )
        paths = find_cases(directory)
        if not paths:
            raise CrafterError(
                f"{directory}: no test cases found",
                hint="cases are <policy>/tests/*.yaml beside a policy.yaml (docs/policies/testing.md)",
            )
        for path in paths:
            result = run_case(path, options=options)
            results.append(result)
            if output == "table":
                _render_case(result)
    failed = [r for r in results if not r.passed]
    if output == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise CrafterError(
            f"{len(failed)} of {len(results)} policy test case{'s' if len(results) != 1 else ''} failed"
        )


@policy.command("init", epilog=exit_codes.epilog("policy init"))
@click.argument("name")
@click.option(
    "--engine",
    type=click.Choice(["rego", "wasm"]),
    default="rego",
    show_default=True,
    help="rego: a policy.rego script; wasm: an AssemblyScript project that builds policy.wasm.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to create the project; it must not exist [default: ./NAME].",
)
def init(name: str, engine: str, directory: Path | None) -> None:
    """Create a new policy project NAME from a template, with passing, failing and skipped test cases.

    \b
    crafter policy init my-policy                 # policy.yaml, policy.rego, tests/
    crafter policy init --engine wasm my-policy   # + src/policy.ts, package.json, build.sh
    """
    from crafter._internal.policies.scaffold import init_policy

    target = directory if directory is not None else Path(name)
    created = init_policy(name, target, engine=engine)
    click.echo(f"Created {engine} policy {name} in {target} ({len(created)} files)")
    for path in created:
        click.echo(f"  {path.relative_to(target)}")
    click.echo("Next:")
    if engine == "wasm":
        click.echo(f"  {target / 'build.sh'}          # npm ci, then compile src/policy.ts to policy.wasm")
    click.echo(f"  crafter policy test {target}")


def _render_case(result: CaseResult) -> None:
    mark = "PASS" if result.passed else "FAIL"
    click.echo(f"{mark} {result.name} ({result.duration * 1000:.0f} ms)")
    for difference in result.differences:
        click.echo(f"     {difference}")
