"""Offline verification of an attestation bundle: signature, statement shape, materials, contract, replay.

:func:`verify_bundle` checks, in this order, and stops at the first failure of the first three:

1. the DSSE signature over the PAE, with the public key given or, for a keyless bundle, the key of the
   certificate in the bundle, which is then checked against a trust root (chain, identity, verified time of
   signing, transparency log: :mod:`crafter.verify.keyless`);
2. the payload type (``application/vnd.in-toto+json``);
3. the statement and predicate shapes (``schemas/statement.schema.json``);
4. ``materials``: local files against the recorded digests (a mismatch is :class:`DigestMismatchError`);
5. ``contract``: required materials and groups present (:class:`IncompleteAttestationError`);
6. ``replay``: every embedded policy evaluation evaluated again (differences: :class:`ReplayDifferenceError`).

Failures of 4 and 6 are collected in the :class:`VerifyResult` so the summary can still be shown;
:meth:`VerifyResult.check` raises them. See docs/verify.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter.errors import SignatureError, SigningError, UsageError
from crafter.signing.dsse import IN_TOTO_PAYLOAD_TYPE
from crafter.verify.cas import open_content_store
from crafter.verify.materials import check_contract, check_material
from crafter.verify.replay import replay_evaluations
from crafter.verify.result import ReplayOutcome, VerifyResult
from crafter.verify.signer import (
    check_signer_identity,
    given_certificate,
    keyless_signer,
    utc_text,
    verification_key,
)
from crafter.verify.statement import parse_statement

if TYPE_CHECKING:
    from crafter.storage.interface import ContentStore
    from crafter.verify.keyless import KeylessPolicy


def verify_reference(
    reference: str, *, insecure: bool = False, cas: ContentStore | str | None = None, **kwargs: Any
) -> VerifyResult:
    """Verify a bundle file, or a bundle fetched from a registry (``oci://REGISTRY/REPO[:TAG|@DIGEST]``:
    the artifact itself, or the newest bundle attached to that image). Keyword arguments: :func:`verify_bundle`'s.
    ``insecure`` applies to the registry of an ``oci://`` reference and of an ``oci://`` content store.
    """
    kwargs["cas"] = open_content_store(cas, insecure=insecure) if isinstance(cas, str) else cas
    if not reference.startswith("oci://"):
        return verify_bundle(Path(reference), **kwargs)
    import tempfile

    from crafter.storage.oci import OciStore

    data = OciStore(reference, insecure=insecure).get()
    with tempfile.TemporaryDirectory(prefix="crafter-verify-") as tmp:
        fetched = Path(tmp) / "bundle.sigstore.json"
        fetched.write_bytes(data)
        result = verify_bundle(fetched, **kwargs)
    return attrs.evolve(result, path=reference)


def verify_bundle(
    path: Path,
    *,
    public_key: PublicKeyTypes | None = None,
    materials: Sequence[Path] = (),
    contract: Path | None = None,
    replay: bool = False,
    replay_materials: Sequence[Path] = (),
    options: Any = None,
    cwd: Path | None = None,
    certificate_identity: str | None = None,
    certificate_oidc_issuer: str | None = None,
    certificate: Path | None = None,
    allow_expired_certificate: bool = False,
    cas: ContentStore | str | None = None,
    keyless: KeylessPolicy | None = None,
    timestamp_roots: Sequence[x509.Certificate] = (),
    timestamp_intermediates: Sequence[x509.Certificate] = (),
) -> VerifyResult:
    """Verify the bundle, or bare DSSE envelope, at ``path`` (see the module docstring for the checks and their
    order).

    ``certificate``: verify with the public key of this X.509 certificate (PEM or DER) instead of ``public_key``
    or the bundle's own certificate. It is taken as given (no chain); when it has expired, the result's
    :meth:`~VerifyResult.check` refuses it unless ``allow_expired_certificate``.

    ``certificate_identity`` / ``certificate_oidc_issuer``: for keyless bundles, the signer's certificate must
    name exactly this identity (email or URI) / OIDC issuer. ``keyless``
    (:class:`~crafter.verify.keyless.KeylessPolicy`): the trust root (default Sigstore public-good's) and the
    other expectations a keyless bundle is verified against; see docs/verify.md.

    ``materials`` are checked against the recorded digests; they and ``replay_materials`` are the local
    files a replay may read (matched by digest). ``options`` is a
    :class:`~crafter.policies.verifier.VerifierOptions` for the replay (its ``cache_dir`` is where remote
    policies are looked up; nothing is downloaded). ``cas`` (a :class:`~crafter.storage.ContentStore`, or a
    directory or ``oci://REGISTRY/REPO`` as ``crafter add --cas`` takes it) is where a replay fetches, by
    digest, the bytes of materials no local file matches; what it returns is checked against the digest.

    ``timestamp_roots`` (+ ``timestamp_intermediates``): TSA certificates every RFC 3161 timestamp of the
    bundle must verify against (a keyless bundle's trust root gets them as timestamp authorities, and its
    verified times are reported in ``signer.signed_at``); without them a key-signed bundle's timestamps are
    only parsed and reported as not verified. A timestamp that is not over the signature, or does not
    verify, is a :class:`SignatureError`. See docs/verify.md.
    """
    from crafter.signing.bundle import DSSE_ENVELOPE, read_signed, verify_envelope
    from crafter.signing.interface import VerificationError
    from crafter.signing.timestamp import check_bundle_timestamps, with_timestamp_authorities

    if public_key is not None and certificate is not None:
        raise UsageError("--key and --certificate are mutually exclusive: give one of them")
    if allow_expired_certificate and certificate is None:
        raise UsageError("--allow-expired-certificate applies to the certificate given with --certificate")
    if cas is not None and not replay:
        raise UsageError("--cas is read by --replay only: give --replay too")
    if timestamp_intermediates and not timestamp_roots:
        raise UsageError("timestamp intermediates were given without timestamp roots")
    try:
        signed = read_signed(path)
    except SigningError as exc:
        raise SignatureError(exc.message, hint=exc.hint) from exc
    envelope = signed.envelope
    where = f"{path} (DSSE envelope)" if signed.kind == DSSE_ENVELOPE else str(path)
    certificate_problem = ""
    if certificate is not None:
        key, signer = given_certificate(certificate, allow_expired_certificate)
        if signer.expired and not allow_expired_certificate:
            certificate_problem = (
                f"{where}: the certificate {certificate} expired on {utc_text(signer.not_after)}"
            )
    elif signed.kind == DSSE_ENVELOPE and public_key is None:
        raise UsageError(
            f"{path} is a bare DSSE envelope, which carries no key or certificate: "
            "give --key PUB or --certificate CERT.pem"
        )
    else:
        key, signer = verification_key(signed.bundle, public_key, path)
    if signer.kind == "certificate" and certificate is None:  # keyless: chain, identity, time, logs
        keyless = with_timestamp_authorities(keyless, timestamp_roots, timestamp_intermediates)
        signer = keyless_signer(
            signed.bundle, envelope, path, keyless, certificate_identity, certificate_oidc_issuer
        )
    else:
        check_signer_identity(signer, certificate_identity, certificate_oidc_issuer, path)
    try:
        payload = verify_envelope(envelope, key)
    except VerificationError as exc:
        what = (
            "the given public key"
            if signer.kind == "key"
            else f"the public key of certificate {certificate}"
            if certificate is not None
            else "the public key of the bundle's certificate"
        )
        hint = "the payload, its type or the signature was altered, or another key signed it"
        if certificate is not None:  # what was tried, the expiry included
            validity = f"valid {utc_text(signer.not_before)} to {utc_text(signer.not_after)}"
            hint = f"certificate {certificate} ({signer.identity}, {validity}{', expired' if signer.expired else ''}); {hint}"
        raise SignatureError(
            f"{where}: bad signature: no signature of the envelope verifies with {what}", hint=hint
        ) from exc
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:  # signed, but not an attestation
        raise SignatureError(
            f"{path}: payload type is {envelope.payload_type!r}, expected {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    timestamps = (
        ()  # keyless: verify_keyless verified them as time of signing, reported in signer.signed_at
        if signer.kind == "certificate" and certificate is None
        else check_bundle_timestamps(
            signed.bundle,
            envelope,
            key,
            roots=timestamp_roots,
            intermediates=timestamp_intermediates,
            where=where,
        )
    )
    statement = parse_statement(payload, path)
    checks = tuple(check_material(p, statement) for p in materials)
    if contract is not None:
        check_contract(statement, contract)
    outcomes: tuple[ReplayOutcome, ...] = ()
    if replay:
        files = list(dict.fromkeys([*materials, *replay_materials]))
        store = open_content_store(cas) if isinstance(cas, str) else cas
        outcomes, fetched = replay_evaluations(statement, files, options, cwd or Path.cwd(), store)
        checks += fetched
    return VerifyResult(
        path=path,
        payload_type=envelope.payload_type,
        payload_digest="sha256:" + hashlib.sha256(payload).hexdigest(),
        statement=statement,
        signer=signer,
        material_checks=checks,
        replay=outcomes,
        replayed=replay,
        kind=signed.kind,
        certificate_problem=certificate_problem,
        timestamps=timestamps,
    )
