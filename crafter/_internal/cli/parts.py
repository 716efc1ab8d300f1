"""``crafter export`` and ``crafter merge``: crafting one attestation across many machines (docs/state.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crafter._internal.cli import exit_codes
from crafter._internal.cli.attestation import (
    Settings,
    attestation_id_option,
    insecure_option,
    output_option,
    state_option,
)


@click.command(epilog=exit_codes.epilog("export"))
@click.option(
    "-o",
    "--output",
    "output_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the part here (JSON, schemas/part.schema.json).",
)
@attestation_id_option
@state_option
@insecure_option
@click.pass_obj
def export(
    settings: Settings, output_file: Path, attestation_id: str | None, state: str | None, insecure: bool
) -> None:
    """Write the attestation's materials, their policy evaluations and this job's CI context as a part.

    Another machine merges it into its attestation with 'crafter merge'. The attestation stays in progress.
    """
    part = settings.crafter(state=state, insecure=insecure).export_part(output_file, attestation_id)
    click.echo(
        f"Exported {len(part.records)} materials of attestation {part.attestation_id} to {output_file}"
    )


@click.command(epilog=exit_codes.epilog("merge"))
@click.argument("parts", nargs=-1, required=True, metavar="PART.json...")
@click.option(
    "--force",
    is_flag=True,
    help="Accept parts recorded against another contract or for another workflow, project or version.",
)
@attestation_id_option
@output_option
@click.pass_obj
def merge(
    settings: Settings, parts: tuple[str, ...], force: bool, attestation_id: str | None, output: str
) -> None:
    """Merge parts (globs too) into the attestation, as one change: materials keep their recorded evaluations.

    The same material name with the same digest is one material (merging a part again changes nothing); with
    different digests it is a conflict (exit code 14) and nothing is merged.
    """
    from crafter._internal.cli import render

    result = settings.crafter().merge(list(parts), force=force, attestation_id=attestation_id)
    for why in result.forced:
        render.warn(f"merged with --force: {why}")
    if output == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(
        f"Merged {len(result.parts)} parts into attestation {result.attestation_id}: "
        f"{len(result.added)} materials added, {len(result.unchanged)} already recorded"
    )
