"""One verification as one request: :class:`VerifyRequest` holds what ``crafter verify`` (and ``crafter
report``) take as options, checked when it is made; :func:`verify` loads the key, builds the keyless policy,
opens the content store and runs :func:`crafter.verify.verify_reference`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.verify.bundle import verify_reference
from crafter._internal.verify.result import VerifyResult
from crafter.errors import UsageError

__all__ = ["VerifyRequest", "verify"]


def _materials(value: Sequence[str | Path]) -> tuple[str, ...]:
    if isinstance(value, str | Path):
        raise TypeError("materials: a sequence of files or digests, not one")
    return tuple(str(m) for m in value)


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise UsageError(f"{attribute.name}: must be more than 0 seconds, not {value!r}")


@attrs.frozen
class VerifyRequest:
    """A bundle to verify and how, as ``crafter verify``'s options (docs/verify.md) say it.

    ``bundle``: a file, or ``oci://REGISTRY/REPO[:TAG|@DIGEST]`` (or a plugin store's scheme). The signer:
    ``key`` (a PEM public key file) or ``certificate`` (X.509, PEM or DER), not both; neither for a keyless
    bundle, checked against ``certificate_identity``/``certificate_identity_regexp`` and
    ``certificate_oidc_issuer``/``certificate_oidc_issuer_regexp`` (exact or regular expression, one of each
    pair) and a trust root (``trusted_root``, ``ca_roots`` + ``ca_intermediates``, ``staging``, or Sigstore
    public-good's). ``materials``: files or ``sha256:HEX`` digests; ``contract``; ``replay`` (with ``cas``,
    a directory or ``oci://`` content store, ``policy_cache``, ``policy_timeout``, ``rego_backend``).
    ``insecure``: plain HTTP to a registry; ``http_timeout``: each registry request's deadline. A combination
    refused before anything is read is a :class:`UsageError` here, at construction."""

    bundle: str = attrs.field(validator=attrs.validators.instance_of(str))
    key: Path | None = None
    certificate: Path | None = None
    allow_expired_certificate: bool = False
    materials: tuple[str, ...] = attrs.field(default=(), converter=_materials)
    contract: Path | None = None
    replay: bool = False
    cas: str | None = None
    insecure: bool = False
    certificate_identity: str | None = None
    certificate_oidc_issuer: str | None = None
    certificate_identity_regexp: str | None = None
    certificate_oidc_issuer_regexp: str | None = None
    trusted_root: Path | None = None
    ca_roots: Path | None = None
    ca_intermediates: Path | None = None
    timestamp_certificate_chain: Path | None = None
    staging: bool = False
    require_tlog: bool = False
    insecure_ignore_tlog: bool = False
    insecure_current_time: bool = False
    policy_cache: Path | None = None
    policy_timeout: float = attrs.field(default=60.0, validator=_positive)
    rego_backend: str = "regopy"
    http_timeout: float = attrs.field(default=DEFAULT_TIMEOUT, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.key is not None and self.certificate is not None:
            raise UsageError("--key and --certificate are mutually exclusive: give one of them")
        if self.certificate_identity is not None and self.certificate_identity_regexp is not None:
            raise UsageError("give --certificate-identity or --certificate-identity-regexp, not both")
        if self.certificate_oidc_issuer is not None and self.certificate_oidc_issuer_regexp is not None:
            raise UsageError("give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both")


def verify(request: VerifyRequest, *, raise_on_failure: bool = True) -> VerifyResult:
    """Verify as ``crafter verify`` does with the options ``request`` holds: the key read, the keyless policy
    and the content store made from the request. Fails closed as :func:`crafter.verify.verify_bundle`:
    any failed check raises, with the result attached when the signature verified; with
    ``raise_on_failure=False`` a failed material, contract or replay check is returned in the result
    (:meth:`VerifyResult.failure`) instead, while a signature or trust failure, a usage error or an
    unreachable registry still raises."""
    from crafter._internal.policies.options import VerifierOptions
    from crafter._internal.signing.keys import public_key_from_pem
    from crafter._internal.signing.timestamp import split_chain
    from crafter._internal.trust import load_pem_certificates
    from crafter._internal.verify.keyless import keyless_policy

    public_key = public_key_from_pem(request.key) if request.key is not None else None
    chain = request.timestamp_certificate_chain
    tsa_roots, tsa_intermediates = (
        split_chain(load_pem_certificates(chain, "--timestamp-certificate-chain")) if chain else ([], [])
    )
    options = VerifierOptions(
        timeout=request.policy_timeout, rego_backend=request.rego_backend, cache_dir=request.policy_cache
    )
    keyless = keyless_policy(
        trusted_root=request.trusted_root,
        ca_roots=request.ca_roots,
        ca_intermediates=request.ca_intermediates,
        staging=request.staging,
        identity_regexp=request.certificate_identity_regexp,
        issuer_regexp=request.certificate_oidc_issuer_regexp,
        ignore_tlog=request.insecure_ignore_tlog,
        allow_current_time=request.insecure_current_time,
    )
    return verify_reference(
        request.bundle,
        insecure=request.insecure,
        certificate_identity=request.certificate_identity,
        certificate_oidc_issuer=request.certificate_oidc_issuer,
        public_key=public_key,
        certificate=request.certificate,
        allow_expired_certificate=request.allow_expired_certificate,
        materials=request.materials,
        contract=request.contract,
        replay=request.replay,
        cas=request.cas,
        options=options,
        keyless=keyless,
        timestamp_roots=tsa_roots,
        timestamp_intermediates=tsa_intermediates,
        require_tlog=request.require_tlog,
        raise_on_failure=raise_on_failure,
        http_timeout=request.http_timeout,
    )
