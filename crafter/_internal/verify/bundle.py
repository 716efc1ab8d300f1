"""Offline verification of a Sigstore bundle: an attestation (DSSE envelope) or a message signature.

:func:`verify_bundle` checks, in this order, and stops at the first failure of the first four:

1. for a message signature, the file (or digest) given with ``materials`` against the digest the bundle says
   it signs (:class:`DigestMismatchError`);
2. the signature, over the DSSE PAE or the file's digest, with the public key given or, for a keyless
   bundle, the key of the certificate in the bundle, which is then checked against a trust root (chain,
   identity, verified time of signing, transparency log: :mod:`crafter._internal.verify.keyless`); a key-signed
   bundle's log entries and timestamps, when present, against the trust root (:mod:`crafter._internal.verify.evidence`);
3. the payload type (``application/vnd.in-toto+json``);
4. the in-toto statement (v1 or v0.1), and a Chainloop predicate against ``schemas/statement.schema.json``;
5. ``materials``: local files or digests against the recorded digests (:class:`DigestMismatchError`);
6. ``contract``: required materials and groups present (:class:`IncompleteAttestationError`);
7. ``replay``: every embedded policy evaluation evaluated again (differences: :class:`ReplayDifferenceError`).

Failures of 5-7 (and a refused ``--certificate``) are collected in the :class:`VerifyResult`, which is then
raised with the error (``exc.result``) unless ``raise_on_failure=False``. See docs/verify.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from crafter._internal.http import DEFAULT_TIMEOUT
from crafter._internal.signing.dsse import IN_TOTO_PAYLOAD_TYPE
from crafter._internal.signing.message import Digest
from crafter._internal.verify.cas import open_content_store
from crafter._internal.verify.content import SignedContent, SignerKey
from crafter._internal.verify.evidence import key_evidence
from crafter._internal.verify.materials import check_material, contract_problem, material_digest
from crafter._internal.verify.replay import replay_evaluations
from crafter._internal.verify.result import MaterialCheck, ReplayOutcome, SignerInfo, VerifyResult
from crafter._internal.verify.signer import (
    certificate_problem,
    check_signer_identity,
    given_certificate,
    keyless_signer,
    utc_text,
    verification_key,
)
from crafter._internal.verify.statement import CHAINLOOP_PREDICATE, is_chainloop, parse_statement
from crafter.errors import CrafterError, DigestMismatchError, SignatureError, SigningError, UsageError

if TYPE_CHECKING:
    from crafter._internal.signing.bundle import SignedFile
    from crafter._internal.signing.timestamp import TimestampInfo
    from crafter._internal.storage.interface import ContentStore
    from crafter._internal.verify.keyless import KeylessPolicy


def verify_reference(
    reference: str,
    *,
    insecure: bool = False,
    cas: ContentStore | str | None = None,
    http_timeout: float = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> VerifyResult:
    """Verify a bundle file, or a bundle fetched from a registry (``oci://REGISTRY/REPO[:TAG|@DIGEST]``:
    the artifact itself, or the newest bundle attached to that image) or from a store an installed plugin adds. Keyword arguments: :func:`verify_bundle`'s.
    ``insecure`` and ``http_timeout`` (the deadline of each request, ``--http-timeout``) apply to the registry
    of an ``oci://`` reference and of an ``oci://`` content store.
    """
    if isinstance(cas, str):
        cas = open_content_store(cas, insecure=insecure, timeout=http_timeout)
    kwargs["cas"] = cas
    from crafter._internal.storage import bundle_store
    from crafter._internal.storage.schemes import store_scheme

    if store_scheme(reference) == "file":
        return verify_bundle(Path(reference.removeprefix("file://")), **kwargs)
    import tempfile

    data = bundle_store(reference, insecure=insecure, timeout=http_timeout).get()
    raise_on_failure = kwargs.pop("raise_on_failure", True)
    with tempfile.TemporaryDirectory(prefix="crafter-verify-") as tmp:
        fetched = Path(tmp) / "bundle.sigstore.json"
        fetched.write_bytes(data)
        result = verify_bundle(fetched, raise_on_failure=False, **kwargs)
    # the result names the reference, not the temporary file, also when it is raised with an error
    return _finish(attrs.evolve(result, path=reference), raise_on_failure)


def verify_bundle(
    path: Path,
    *,
    public_key: PublicKeyTypes | None = None,
    materials: Sequence[Path | str] = (),
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
    require_tlog: bool = False,
    raise_on_failure: bool = True,
) -> VerifyResult:
    """Verify the bundle, or bare DSSE envelope, at ``path`` (see the module docstring for the checks and their
    order). Raises on any failed check: :class:`SignatureError`, :class:`DigestMismatchError`,
    :class:`IncompleteAttestationError`, :class:`ReplayDifferenceError` (the last three, and a refused
    ``certificate``, with the whole result as ``exc.result``). ``raise_on_failure=False`` returns the result
    of a bundle whose signature verified even when those later checks failed (:attr:`VerifyResult.verified`,
    :meth:`VerifyResult.check`); a signature or trust failure raises whatever this says.

    ``materials``: files, or digests spelled ``sha256:HEX``, checked against the statement's subjects (and a
    Chainloop attestation's materials); for a message-signature bundle, exactly one: the signed file.

    ``certificate``: verify with the public key of this X.509 certificate (PEM or DER) instead of ``public_key``
    or the bundle's own certificate. It is taken as given (no chain); one not valid yet is refused, and one
    that has expired too unless ``allow_expired_certificate``.

    ``certificate_identity`` / ``certificate_oidc_issuer``: for keyless bundles, the signer's certificate must
    name exactly this identity (email or URI) / OIDC issuer. ``keyless``
    (:class:`~crafter.verify.keyless.KeylessPolicy`): the trust root (default Sigstore public-good's) and the
    other expectations a keyless bundle is verified against; its trust root also checks the log entries and
    timestamps a key-signed bundle carries. ``require_tlog``: a key-signed bundle must have a log entry.

    ``materials`` and ``replay_materials`` are the local files a replay may read (matched by digest).
    ``options`` is a :class:`~crafter._internal.policies.verifier.VerifierOptions` for the replay (its ``cache_dir`` is
    where remote policies are looked up; nothing is downloaded). ``cas`` (a
    :class:`~crafter.storage.ContentStore`, or a directory or ``oci://REGISTRY/REPO`` as ``crafter add --cas``
    takes it) is where a replay fetches, by digest, the bytes of materials no local file matches; what it
    returns is checked against the digest.

    ``timestamp_roots`` (+ ``timestamp_intermediates``): TSA certificates every RFC 3161 timestamp of the
    bundle must verify against (a keyless bundle's trust root gets them as timestamp authorities). Without
    them, a key-signed bundle's timestamps are verified against the trust root's timestamp authorities.
    See docs/verify.md.
    """
    from crafter._internal.signing.bundle import DSSE_ENVELOPE, read_signed
    from crafter._internal.verify.keyless import with_timestamp_authorities

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
    where = f"{path} (DSSE envelope)" if signed.kind == DSSE_ENVELOPE else str(path)
    try:
        version = signed.version
    except SigningError as exc:
        raise SignatureError(f"{path}: {exc.message}") from exc
    content = _content(signed, materials, contract, replay, path)
    problem = ""
    cert_object: x509.Certificate | None = None
    if certificate is not None:
        key, signer, cert_object = given_certificate(certificate, allow_expired_certificate)
        problem = certificate_problem(signer, allow_expired_certificate, where)
    elif signed.kind == DSSE_ENVELOPE and public_key is None:
        raise UsageError(
            f"{path} is a bare DSSE envelope, which carries no key or certificate: "
            "give --key PUB or --certificate CERT.pem"
        )
    else:
        key, signer = verification_key(signed.bundle, public_key, path)
    timestamps: tuple[TimestampInfo, ...] = ()
    if signer.kind == "certificate" and certificate is None:  # keyless: chain, identity, time, logs
        if require_tlog and not (signed.bundle.get("verificationMaterial") or {}).get("tlogEntries"):
            raise SignatureError(f"{where}: the bundle has no transparency-log entry (--require-tlog)")
        keyless = with_timestamp_authorities(keyless, timestamp_roots, timestamp_intermediates)
        signer = keyless_signer(
            signed.bundle, content, path, keyless, certificate_identity, certificate_oidc_issuer, version
        )
    else:
        check_signer_identity(signer, certificate_identity, certificate_oidc_issuer, path)
        signatures = _verified_signatures(content, key, signer, certificate, where)
        evidence = key_evidence(
            signed.bundle,
            content,
            signatures,
            SignerKey(key, cert_object),
            signer,
            policy=keyless,
            timestamp_roots=timestamp_roots,
            timestamp_intermediates=timestamp_intermediates,
            require_tlog=require_tlog,
            version=version,
            where=where,
        )
        signer, timestamps = evidence.signer, evidence.timestamps
    if content.message is not None:
        assert content.artifact is not None
        return _finish(
            VerifyResult(
                path=path,
                payload_type="",
                payload_digest=content.artifact.text,
                statement={},
                signer=signer,
                material_checks=(
                    MaterialCheck(_label(content), content.artifact.text, matched="the signed artifact"),
                ),
                kind=signed.kind,
                certificate_problem=problem,
                timestamps=timestamps,
                content="message-signature",
                artifact=_label(content),
            ),
            raise_on_failure,
        )
    envelope = content.envelope
    assert envelope is not None
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:  # signed, but not an attestation
        raise SignatureError(
            f"{path}: payload type is {envelope.payload_type!r}, expected {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    statement = parse_statement(envelope.payload, path)
    if (contract is not None or replay) and not is_chainloop(statement):
        raise UsageError(
            f"{path}: {'--contract' if contract is not None else '--replay'} works on Chainloop attestations "
            f"({CHAINLOOP_PREDICATE}); this statement's predicate is {statement.get('predicateType')!r}",
            hint="verify it without that option: the signature, trust and --material checks apply to any "
            "in-toto statement",
        )
    checks = tuple(check_material(m, statement) for m in materials)
    missing = contract_problem(statement, contract) if contract is not None else ""
    outcomes: tuple[ReplayOutcome, ...] = ()
    if replay:
        local = [Path(m) for m in materials if isinstance(m, Path) or Digest.parse(m) is None]
        files = list(dict.fromkeys([*local, *replay_materials]))
        store = open_content_store(cas) if isinstance(cas, str) else cas
        outcomes, fetched = replay_evaluations(statement, files, options, cwd or Path.cwd(), store)
        checks += fetched
    result = VerifyResult(
        path=path,
        payload_type=envelope.payload_type,
        payload_digest="sha256:" + hashlib.sha256(envelope.payload).hexdigest(),
        statement=statement,
        signer=signer,
        material_checks=checks,
        replay=outcomes,
        replayed=replay,
        kind=signed.kind,
        certificate_problem=problem,
        timestamps=timestamps,
        contract_problem=missing,
    )
    return _finish(result, raise_on_failure)


def _finish(result: VerifyResult, raise_on_failure: bool) -> VerifyResult:
    if raise_on_failure:
        result.check()
    return result


def _label(content: SignedContent) -> str:
    assert content.artifact is not None
    return str(content.artifact_path) if content.artifact_path is not None else content.artifact.text


def _content(
    signed: SignedFile,
    materials: Sequence[Path | str],
    contract: Path | None,
    replay: bool,
    path: Path,
) -> SignedContent:
    """What the bundle signs; for a message signature, with the digest of the one file (or digest) given."""
    if signed.message is None:
        return SignedContent(envelope=signed.envelope)
    if not materials:
        raise UsageError(
            f"{path} is a message signature over a file, not an attestation: give the signed file with "
            "--material FILE, or its digest with --material sha256:HEX"
        )
    if len(materials) > 1:
        raise UsageError(f"{path} signs one file: give exactly one --material")
    if contract is not None or replay:
        raise UsageError(f"{path}: --contract and --replay apply to attestations, not to message signatures")
    artifact, artifact_path = material_digest(materials[0])
    recorded = signed.message.digest
    if recorded is not None:
        if recorded.algorithm != artifact.algorithm:
            if artifact_path is None:
                raise UsageError(
                    f"{path} signs a {recorded.algorithm} digest: give the file or its {recorded.algorithm} digest"
                )
            artifact = Digest.of_file(artifact_path, recorded.algorithm)
        if recorded != artifact:
            label = str(artifact_path) if artifact_path is not None else artifact.text
            raise DigestMismatchError(
                f"{path}: {label} ({artifact.text}) is not the signed artifact: the bundle signs "
                f"{recorded.text}",
                hint="the file given with --material is not the one this bundle signs",
            )
    return SignedContent(message=signed.message, artifact=artifact, artifact_path=artifact_path)


def _verified_signatures(
    content: SignedContent,
    key: PublicKeyTypes,
    signer: SignerInfo,
    certificate: Path | None,
    where: str,
) -> list[bytes]:
    try:
        signatures = content.verified_signatures(key)
    except CrafterError as exc:  # a key type we cannot verify with
        raise SignatureError(f"{where}: the key cannot be used: {exc.message}", hint=exc.hint) from exc
    if signatures:
        return signatures
    what = (
        "the given public key"
        if signer.kind == "key"
        else f"the public key of certificate {certificate}"
        if certificate is not None
        else "the public key of the bundle's certificate"
    )
    hint = (
        "the payload, its type or the signature was altered, or another key signed it"
        if content.envelope is not None
        else "the signature was altered, or another key signed the file"
    )
    if certificate is not None:  # what was tried, the expiry included
        validity = f"valid {utc_text(signer.not_before)} to {utc_text(signer.not_after)}"
        hint = f"certificate {certificate} ({signer.identity}, {validity}{', expired' if signer.expired else ''}); {hint}"
    signed_what = "envelope" if content.envelope is not None else "message"
    raise SignatureError(
        f"{where}: bad signature: no signature of the {signed_what} verifies with {what}", hint=hint
    )
