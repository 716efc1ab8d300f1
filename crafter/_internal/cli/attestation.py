"""The attestation commands: init, add, status, push, pull, reset. Each parses, calls the library, renders."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs
import click

from crafter._internal.cli import exit_codes, render
from crafter._internal.http import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from crafter._internal.crafter import Crafter
    from crafter._internal.policies.options import VerifierOptions
    from crafter._internal.storage import ContentStore

F = TypeVar("F", bound=Callable[..., Any])

insecure_option = click.option(
    "--insecure", is_flag=True, help="Reach the registry over plain HTTP (a local registry); default HTTPS."
)


@attrs.frozen
class Settings:
    """The global options (``crafter --state-dir ... --http-timeout ... COMMAND``)."""

    state_dir: str | None
    debug: bool
    http_timeout: float = DEFAULT_TIMEOUT

    def crafter(
        self, policy: PolicyFlags | None = None, *, state: str | None = None, insecure: bool = False
    ) -> Crafter:
        from crafter._internal.crafter import Crafter

        return Crafter(
            state_dir=Path(self.state_dir) if self.state_dir else None,
            policy_options=policy.options() if policy else None,
            http_timeout=self.http_timeout,
            state=state,
            insecure=insecure,
        )


def http_timeout() -> float:
    """``--http-timeout`` (or ``CRAFTER_HTTP_TIMEOUT``) of the running command, else the default."""
    settings = click.get_current_context().find_object(Settings)
    return settings.http_timeout if settings is not None else DEFAULT_TIMEOUT


@attrs.frozen
class PolicyFlags:
    """The policy options shared by init, add and push."""

    timeout: float | None = None
    inputs: tuple[str, ...] = ()
    enforce: bool = False
    rego_backend: str = "regopy"
    allowed_hosts: tuple[str, ...] = ()
    wasm_memory_mib: int | None = None
    rego_memory_mib: int | None = None
    http_timeout: float = DEFAULT_TIMEOUT  # the global --http-timeout, for remote policies

    def options(self) -> VerifierOptions:
        from crafter._internal.crafter import parse_key_values
        from crafter._internal.policies.options import VerifierOptions

        options = VerifierOptions(
            timeout=self.timeout or 60.0,
            runtime_inputs=parse_key_values(self.inputs, "policy-input"),
            enforce=self.enforce,
            rego_backend=self.rego_backend,
            allowed_hosts=self.allowed_hosts,
            http_timeout=self.http_timeout,
        )
        if self.wasm_memory_mib:
            options = attrs.evolve(options, wasm_memory_bytes=self.wasm_memory_mib << 20)
        if self.rego_memory_mib:
            options = attrs.evolve(options, memory_bytes=self.rego_memory_mib << 20)
        return options


def policy_options(*, enforce: bool, inputs: bool = True) -> Callable[[F], F]:
    """--policy-timeout, --rego-backend, --policy-allowed-host, --wasm-memory-mib (and --policy-input,
    --enforce where they apply)."""

    def decorate(command: F) -> F:
        # The options reach the command as one ``policy: PolicyFlags`` argument.
        @functools.wraps(command)
        def collect(*args: Any, **kwargs: Any) -> Any:
            kwargs["policy"] = PolicyFlags(
                timeout=kwargs.pop("policy_timeout"),
                inputs=kwargs.pop("policy_inputs", ()),
                enforce=kwargs.pop("enforce", False),
                rego_backend=kwargs.pop("rego_backend"),
                allowed_hosts=kwargs.pop("allowed_hosts"),
                wasm_memory_mib=kwargs.pop("wasm_memory_mib"),
                rego_memory_mib=kwargs.pop("rego_memory_mib"),
                http_timeout=http_timeout(),
            )
            return command(*args, **kwargs)

        f = cast(F, collect)
        f = click.option(
            "--policy-allowed-host",
            "allowed_hosts",
            multiple=True,
            metavar="HOST",
            help="A host every policy may reach over HTTP: a name or *.domain (repeatable; none by default).",
        )(f)
        f = click.option(
            "--wasm-memory-mib",
            type=click.IntRange(min=1),
            help="Memory one WASM policy evaluation may use, in MiB [default: 256].",
        )(f)
        f = click.option(
            "--rego-memory-mib",
            type=click.IntRange(min=16),
            help="Memory one Rego evaluation may add for what the policy builds, besides its input's copy, in MiB "
            "[default: 1024].",
        )(f)
        f = click.option(
            "--policy-timeout",
            type=click.FloatRange(min=0.001),
            help="Seconds one policy evaluation may take [default: 60].",
        )(f)
        f = click.option(
            "--rego-backend",
            type=click.Choice(["regopy", "opa"]),
            default="regopy",
            show_default=True,
            help="Rego evaluator: regopy, or OPA's own bindings when installed.",
        )(f)
        if inputs:
            f = click.option(
                "--policy-input",
                "policy_inputs",
                multiple=True,
                metavar="NAME=VALUE",
                help="Override a policy input (repeatable).",
            )(f)
        if enforce:
            f = click.option(
                "--enforce",
                is_flag=True,
                help="Gate every policy not marked gate: false (push exits with 4).",
            )(f)
        return f

    return decorate


def output_option(f: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output format.",
    )(f)


def attestation_id_option(f: F) -> F:
    return click.option(
        "--attestation-id",
        envvar="CRAFTER_ATTESTATION_ID",
        help="Act on this attestation instead of the current one [env CRAFTER_ATTESTATION_ID].",
    )(f)


def state_option(f: F) -> F:
    return click.option(
        "--state",
        envvar="CRAFTER_STATE",
        metavar="DIR|oci://REGISTRY/REPO",
        help="Keep the attestation in this directory, or in a registry shared by many runners "
        "(docs/state.md) [env CRAFTER_STATE; default: --state-dir].",
    )(f)


def annotation_option(help_text: str) -> Callable[[F], F]:
    return click.option("--annotation", "annotations", multiple=True, metavar="KEY=VALUE", help=help_text)


@click.command(epilog=exit_codes.epilog("init"))
@click.option(
    "--contract", type=click.Path(dir_okay=False, path_type=Path), help="Contract file (YAML or JSON)."
)
@click.option("--workflow", help="Workflow name [default: the contract's name, else the directory name].")
@click.option("--project", help="Project name [default: the directory name].")
@click.option("--version", "project_version", default="", help="Project version being attested.")
@click.option("--prerelease", is_flag=True, help="Mark the project version as a pre-release.")
@click.option("--team", default="", help="Team owning the workflow.")
@click.option("--organization", default="", help="Organization recorded in the metadata.")
@click.option(
    "--dry-run", is_flag=True, help="Do not enforce the contract's runner (recorded in the predicate)."
)
@policy_options(enforce=True, inputs=False)
@state_option
@insecure_option
@output_option
@click.pass_obj
def init(
    settings: Settings,
    contract: Path | None,
    workflow: str | None,
    project: str | None,
    project_version: str,
    prerelease: bool,
    team: str,
    organization: str,
    dry_run: bool,
    policy: PolicyFlags,
    state: str | None,
    insecure: bool,
    output: str,
) -> None:
    """Start an attestation and make it the current one.

    With --state oci://REGISTRY/REPO the attestation, its contract and its resolved policies are kept in the
    registry: other runners add to it with --attestation-id (the id printed here) and need neither.
    """
    c = settings.crafter(policy, state=state, insecure=insecure)
    started = c.init(
        contract=contract,
        workflow=workflow,
        project=project,
        version=project_version,
        prerelease=prerelease,
        team=team,
        organization=organization,
        dry_run=dry_run,
    )
    render.status(c.status(started.attestation_id), output, headline="Attestation initialized")
    if c.store.describe().startswith("oci://"):  # what the other jobs of a matrix need to add to it
        click.echo(
            f"Remote state in {c.store.describe()}: other jobs add with --state {c.store.describe()} "
            f"--attestation-id {started.attestation_id}",
            err=True,
        )


@click.command(epilog=exit_codes.epilog("add"))
@click.argument("values", nargs=-1)
@click.option(
    "--value", "option_values", multiple=True, help="A file, glob, image reference or string (repeatable)."
)
@click.option("--name", help="Material name (the contract's, or a new one); one value only.")
@click.option("--kind", help="Material kind, e.g. SBOM_CYCLONEDX_JSON [default: detected].")
@annotation_option("Annotation for the material (repeatable).")
@click.option(
    "--no-strict-validation", is_flag=True, help="Accept a parseable file that fails its format's schema."
)
@click.option(
    "--cas",
    metavar="DIR|oci://REGISTRY/REPO",
    help="Upload each file's bytes by digest to this content store (not materials marked skipUpload).",
)
@insecure_option
@policy_options(enforce=False)
@attestation_id_option
@state_option
@output_option
@click.pass_obj
def add(
    settings: Settings,
    values: tuple[str, ...],
    option_values: tuple[str, ...],
    name: str | None,
    kind: str | None,
    annotations: tuple[str, ...],
    no_strict_validation: bool,
    cas: str | None,
    insecure: bool,
    policy: PolicyFlags,
    attestation_id: str | None,
    state: str | None,
    output: str,
) -> None:
    """Record materials: files (globs too), image references or strings, as one change; evaluate their policies.

    With remote state (--state oci://...) the materials go to the registry as one part; if the registry
    cannot be written, nothing is recorded (exit code 20) and the add can be retried.
    """
    from crafter._internal.crafter import parse_key_values
    from crafter.errors import UsageError

    all_values = [*option_values, *values]
    if not all_values:
        raise UsageError("nothing to add", hint="crafter add --name NAME --value PATH_OR_VALUE")
    c = settings.crafter(policy, state=state, insecure=insecure)
    added = c.record(
        all_values,
        name=name,
        kind=kind.upper() if kind else None,
        annotations=parse_key_values(annotations),
        strict=not no_strict_validation,
        attestation_id=attestation_id,
        progress=render.progress_factory(),
        warn=render.warn,
        cas=_content_store(cas, insecure),
    )
    render.materials(list(added.materials), output, added.evaluations)


@click.command(epilog=exit_codes.epilog("status"))
@click.option("--all", "show_all", is_flag=True, help="List every attestation in progress.")
@click.option(
    "--full",
    is_flag=True,
    help=f"Every material and policy line in the table (else the first {render.MAX_ROWS} and a count).",
)
@attestation_id_option
@state_option
@insecure_option
@output_option
@click.pass_obj
def status(
    settings: Settings,
    show_all: bool,
    full: bool,
    attestation_id: str | None,
    state: str | None,
    insecure: bool,
    output: str,
) -> None:
    """Show what the current attestation holds and what it still needs.

    With remote state, every runner's part is read: one material name recorded with different digests is a
    conflict (exit code 14), reported with both runners' CI context.
    """
    c = settings.crafter(state=state, insecure=insecure)
    if show_all:
        render.entries(c.list(), c.store.current_id(), output)
    else:
        render.status(c.status(attestation_id), output, full=full)


@click.command(epilog=exit_codes.epilog("push"))
@click.option(
    "-k",
    "--key",
    help="Signing key: a PEM or cosign key file, env://VAR, awskms://, gcpkms://, azurekms:// or hashivault://.",
)
@click.option(
    "--keyless",
    is_flag=True,
    help="Sign with Sigstore keyless (Fulcio certificate, Rekor entry); OIDC token from SIGSTORE_ID_TOKEN or "
    "the CI's ambient credential.",
)
@click.option("--staging", is_flag=True, help="With --keyless: use Sigstore's staging instance.")
@click.option(
    "--trust-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --keyless: a Sigstore ClientTrustConfig JSON file describing a private instance.",
)
@click.option(
    "--bundle",
    type=click.Path(path_type=Path),
    help="Where to write the bundle; an existing directory: <statement digest hex>.sigstore.json in it.",
)
@click.option(
    "--timestamp-server",
    metavar="URL",
    envvar="CRAFTER_TIMESTAMP_SERVER",
    help="Timestamp the signature with this RFC 3161 timestamp authority; the token goes into the bundle "
    "[env CRAFTER_TIMESTAMP_SERVER].",
)
@annotation_option("Attestation annotation required by the contract (repeatable).")
@click.option(
    "--exception-bypass-policy-check",
    is_flag=True,
    help="Do not fail on gated policy violations (recorded in the predicate).",
)
@click.option(
    "--oci",
    "oci_ref",
    metavar="REGISTRY/REPO[:TAG|@DIGEST]",
    help="Also push the bundle to this registry, attached to the image the reference names.",
)
@insecure_option
@policy_options(enforce=True)
@attestation_id_option
@state_option
@output_option
@click.pass_obj
def push(
    settings: Settings,
    key: str | None,
    keyless: bool,
    staging: bool,
    trust_config: Path | None,
    bundle: Path | None,
    timestamp_server: str | None,
    annotations: tuple[str, ...],
    exception_bypass_policy_check: bool,
    oci_ref: str | None,
    insecure: bool,
    policy: PolicyFlags,
    attestation_id: str | None,
    state: str | None,
    output: str,
) -> None:
    """Evaluate attestation policies, sign the attestation into a Sigstore bundle and write it.

    Gated policy violations exit with code 4 after the bundle is written. With --oci the bundle is also
    pushed to a registry; if that fails (exit code 20) the local bundle and the attestation are kept.
    """
    from crafter._internal.crafter import parse_key_values
    from crafter._internal.push_rules import PushRequest, SigningRequest
    from crafter.errors import PolicyGateError, UsageError

    try:
        signing = SigningRequest(
            key=key,
            keyless=keyless,
            staging=staging,
            trust_config=trust_config,
            password=render.password_provider(key or ""),
        )
    except UsageError as exc:  # an option error: click's usage message, as for any other option
        raise click.UsageError(exc.message) from None
    request = PushRequest(
        signing=signing,
        bundle=bundle,
        stores=["oci://" + oci_ref.removeprefix("oci://")] if oci_ref else [],
        insecure=insecure,
        timestamp_server=timestamp_server or None,
        annotations=parse_key_values(annotations),
        attestation_id=attestation_id,
        bypass_policy_check=exception_bypass_policy_check,
    )
    c = settings.crafter(policy, state=state, insecure=insecure)
    try:
        result = c.push(request)
    except PolicyGateError as exc:
        # The bundle was written and stored: report it (and the action's outputs) before exiting with 4.
        if exc.result is not None:
            render.pushed(exc.result, output)
        raise
    render.pushed(result, output)
    if result.gate_failures and result.bypassed:
        render.warn(
            "gated policies have violations ("
            + ", ".join(result.gate_failures)
            + "); the check was bypassed with --exception-bypass-policy-check, as the predicate records"
        )


def _content_store(spec: str | None, insecure: bool) -> ContentStore | None:
    from crafter._internal.storage import content_store

    return content_store(spec, insecure=insecure, timeout=http_timeout()) if spec else None


@click.command(epilog=exit_codes.epilog("pull"))
@click.argument("reference", metavar="oci://REGISTRY/REPO[:TAG|@DIGEST]")
@click.option(
    "-o", "--output", "output_file", type=click.Path(dir_okay=False, path_type=Path), help="Write it here."
)
@insecure_option
def pull(reference: str, output_file: Path | None, insecure: bool) -> None:
    """Fetch a bundle from a registry: the artifact itself, or the newest bundle attached to the image.

    Without --output the bundle's bytes go to standard output. A bundle store an installed plugin adds is
    named by its scheme instead of oci://.
    """
    from crafter._internal.storage import bundle_store
    from crafter._internal.storage.file import FileStore
    from crafter._internal.storage.schemes import store_scheme
    from crafter.errors import UsageError

    if store_scheme(reference) == "file":
        raise UsageError(
            f"{reference!r} is not an OCI reference", hint="crafter pull oci://REGISTRY/REPO:TAG"
        )
    data = bundle_store(reference, insecure=insecure, timeout=http_timeout()).get()
    if output_file is None:
        click.echo(data.decode("utf-8", "replace"), nl=False)
        return
    FileStore(output_file).put(data, statement_digest="")
    click.echo(f"Bundle: {output_file}", err=True)


@click.command(epilog=exit_codes.epilog("reset"))
@click.option(
    "--part",
    metavar="TAG",
    help="Remote state: discard only this part (the tag a conflict names), not the attestation.",
)
@attestation_id_option
@state_option
@insecure_option
@click.pass_obj
def reset(
    settings: Settings, part: str | None, attestation_id: str | None, state: str | None, insecure: bool
) -> None:
    """Discard an attestation in progress (with remote state: every runner's part too)."""
    c = settings.crafter(state=state, insecure=insecure)
    if part is not None:
        click.echo(f"Part {c.reset(attestation_id, part=part)} discarded")
        return
    aid = c.reset(attestation_id)
    click.echo(f"Attestation {aid} discarded")
