"""The OCI distribution API as crafter needs it: references, and a small client with Basic or Bearer-token
authentication over :mod:`crafter._internal.http` (oras-py cannot set a manifest's ``artifactType``, so crafter writes
manifests itself). Credentials: :mod:`crafter._internal.storage.credentials`. The stores built on it:
:mod:`crafter._internal.storage.oci`.

Every request has one deadline (``timeout``, :data:`crafter._internal.http.DEFAULT_TIMEOUT`, ``--http-timeout``) and
every answer a size cap by kind: manifests and referrers indexes :data:`MANIFEST_MAX_BYTES` (the distribution
spec's 4 MiB), token answers :data:`TOKEN_MAX_BYTES`, other API answers :data:`ANSWER_MAX_BYTES`, a bundle
(any blob read into memory) :data:`BLOB_MAX_BYTES`; content-store blobs are streamed to a file
(:meth:`RegistryClient.download_blob`), at most :data:`CONTENT_BLOB_MAX_BYTES`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from crafter._internal import http
from crafter._internal.oci_reference import ReferenceSyntaxError, parse_image_reference
from crafter._internal.storage.credentials import DOCKER_HUB_NAMES, GIVEN, Credentials
from crafter._internal.storage.interface import ContentDigestError, ContentNotFoundError, StoreError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
_MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
TIMEOUT = http.DEFAULT_TIMEOUT
MANIFEST_MAX_BYTES = 4 << 20  # what the distribution spec asks registries to accept at least
TOKEN_MAX_BYTES = 1 << 20
ANSWER_MAX_BYTES = (
    1 << 20
)  # answers to uploads and to /v2/ (error bodies: crafter._internal.http.ERROR_BODY_BYTES)
BLOB_MAX_BYTES = 256 << 20  # a blob read into memory (a bundle: as for a bundle file)
CONTENT_BLOB_MAX_BYTES = 8 << 30  # material bytes, streamed to a file, never held in memory
MAX_REFERRER_PAGES = 100  # a registry that keeps sending rel="next" must not loop forever
#: Answers that mean "not done, try again": each request is retried this many times, after Retry-After
#: (at most MAX_RETRY_WAIT seconds) or an exponential backoff from RETRY_BACKOFF seconds.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRIES = 3
RETRY_BACKOFF = 0.5
MAX_RETRY_WAIT = 10.0
MAX_TAG_PAGES = 1000  # of TAG_PAGE tags each: a million tags, then the listing is refused
TAG_PAGE = 1000
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@attrs.frozen
class OciReference:
    """``REGISTRY/REPO[:TAG|@DIGEST]``; a reference with neither names ``:latest``."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def ref(self) -> str:
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        tail = f"@{self.digest}" if self.digest else f":{self.tag}" if self.tag else ""
        return f"{self.registry}/{self.repository}{tail}"

    @classmethod
    def parse(cls, text: str) -> OciReference:
        """``[oci://]REGISTRY/REPO[:TAG|@DIGEST]``, parsed by :mod:`crafter._internal.oci_reference` (docker's rules:
        ``docker.io/alpine`` is ``docker.io/library/alpine``); the registry must be named."""
        raw = text.removeprefix("oci://")
        if "://" in raw:
            raise StoreError(
                f"invalid OCI reference {text!r}: give REGISTRY/REPO[:TAG|@DIGEST] without a scheme",
                hint="plain-HTTP registries are reached with --insecure",
            )
        try:
            parsed = parse_image_reference(raw)
        except ReferenceSyntaxError as exc:
            raise StoreError(f"invalid OCI reference {text!r}: {exc.reason}") from None
        if not parsed.explicit_registry:
            raise StoreError(
                f"invalid OCI reference {text!r}: expected REGISTRY/REPO[:TAG|@DIGEST] "
                "with a registry host (a dot, a port or localhost)"
            )
        return cls(parsed.registry, parsed.repository, parsed.tag, parsed.digest)


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', rest))


class RegistryClient:
    """The few distribution-API calls crafter needs, with Basic or Bearer-token authentication."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        credentials: Credentials | tuple[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        """``timeout``: the deadline of each request, in seconds (connection to last byte)."""
        self.registry = registry
        # Docker Hub's API lives on another host than the name references use.
        host = "registry-1.docker.io" if registry in DOCKER_HUB_NAMES else registry
        self.base = f"{'http' if insecure else 'https'}://{host}"
        self.credentials = Credentials(*credentials) if isinstance(credentials, tuple) else credentials
        self.timeout = timeout
        self._auth: str | None = None

    # -- transport ---------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        what: str = "answer",
        max_bytes: int = ANSWER_MAX_BYTES,
        sink: Callable[[bytes], object] | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One request; a 401 is answered once from the challenge. Returns status, headers (lower-case
        names), body. The body is ``what`` (for messages), at most ``max_bytes``; a 2xx body goes to ``sink``
        when given."""
        full = url if "://" in url else self.base + url
        for retry in range(RETRIES + 1):
            for attempt in range(2):
                status, resp_headers, body = self._send(method, full, data, headers, what, max_bytes, sink)
                if status != 401 or attempt == 1:
                    break
                challenge = resp_headers.get("www-authenticate", "")
                self._auth = self._answer(challenge)
            if status not in RETRY_STATUSES or retry == RETRIES:
                break
            # Busy or rate-limited (many CI jobs at once): wait as asked (within reason), else back off.
            after = resp_headers.get("retry-after", "")
            time.sleep(min(float(after), MAX_RETRY_WAIT) if after.isdigit() else RETRY_BACKOFF * 2**retry)
        if status == 401:
            who = "the given credentials" if self.credentials else "anonymous access"
            hint = "set CRAFTER_REGISTRY_USERNAME and CRAFTER_REGISTRY_PASSWORD, or log in (docker login)"
            if self.credentials and self.credentials.source != GIVEN:
                hint = f"the credentials came from {self.credentials.source}; " + hint
            raise StoreError(f"registry {self.registry} refused {who} (401 Unauthorized)", hint=hint)
        if status == 403:
            raise StoreError(f"registry {self.registry} denied {method} {urllib.parse.urlsplit(full).path}")
        return status, resp_headers, body

    def _send(
        self,
        method: str,
        url: str,
        data: bytes | None,
        headers: Mapping[str, str] | None,
        what: str = "answer",
        max_bytes: int = ANSWER_MAX_BYTES,
        sink: Callable[[bytes], object] | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        # The credentials go to the registry only, not to a storage backend a blob download redirects to.
        answer = http.request(
            method,
            url,
            data=data,
            headers=headers,
            authorization=self._auth,
            peer=f"registry {self.registry}",
            what=what,
            max_bytes=max_bytes,
            sink=sink,
            error=StoreError,
            timeout=self.timeout,
            unreachable=f"cannot reach registry {self.registry}",
            hint="is the registry running? A plain-HTTP registry needs --insecure",
        )
        return answer.status, answer.headers, answer.body

    def _basic(self) -> str | None:
        # An identity token is only good for the token endpoint's refresh-token grant, as with docker.
        if not self.credentials or self.credentials.identity_token:
            return None
        pair = f"{self.credentials.username}:{self.credentials.secret}"
        return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")

    def _answer(self, challenge: str) -> str | None:
        scheme, params = _challenge(challenge)
        if scheme == "basic":
            return self._basic()
        if scheme == "bearer" and params.get("realm"):
            query = {k: v for k, v in params.items() if k in ("service", "scope")}
            url = params["realm"] + ("?" + urllib.parse.urlencode(query) if query else "")
            saved, self._auth = self._auth, self._basic()
            try:
                if self.credentials and self.credentials.identity_token:
                    # OAuth2 refresh-token grant of the distribution token spec (what docker does).
                    form = {**query, "grant_type": "refresh_token", "client_id": "crafter"}
                    form["refresh_token"] = self.credentials.secret
                    data = urllib.parse.urlencode(form).encode("ascii")
                    headers = {"Content-Type": "application/x-www-form-urlencoded"}
                    status, _, body = self._send(
                        "POST", params["realm"], data, headers, "token answer", TOKEN_MAX_BYTES
                    )
                else:
                    status, _, body = self._send("GET", url, None, None, "token answer", TOKEN_MAX_BYTES)
            finally:
                self._auth = saved
            if status != 200:
                return None
            try:
                doc = json.loads(body)
                token = doc.get("token") or doc.get("access_token")
            except ValueError:
                token = None
            return f"Bearer {token}" if token else None
        return None

    # -- API ---------------------------------------------------------------------------------------------
    def get_manifest(self, repository: str, ref: str) -> tuple[str, str, bytes] | None:
        """(media type, digest, raw bytes) of a manifest or index; None when absent."""
        status, headers, body = self.request(
            "GET",
            f"/v2/{repository}/manifests/{ref}",
            headers={"Accept": ", ".join(_MANIFEST_TYPES)},
            what="manifest",
            max_bytes=MANIFEST_MAX_BYTES,
        )
        if status == 404:
            return None
        self._check(status, f"reading manifest {repository}:{ref}", body)
        media = headers.get("content-type", "").split(";")[0].strip()
        if not media:
            media = str(json.loads(body).get("mediaType", OCI_MANIFEST))
        return media, "sha256:" + hashlib.sha256(body).hexdigest(), body

    def put_manifest(self, repository: str, ref: str, media_type: str, body: bytes) -> Mapping[str, str]:
        status, headers, resp = self.request(
            "PUT", f"/v2/{repository}/manifests/{ref}", data=body, headers={"Content-Type": media_type}
        )
        self._check(status, f"writing manifest {repository}:{ref}", resp, ok=(200, 201))
        return headers

    def has_blob(self, repository: str, digest: str) -> bool:
        status, _, body = self.request("HEAD", f"/v2/{repository}/blobs/{digest}")
        if status == 404:
            return False
        self._check(status, f"checking blob {digest}", body)
        return True

    def put_blob(self, repository: str, data: bytes, *, check: bool = True) -> str:
        """Upload ``data`` unless the registry has it (``check=False``: bytes known to be new, such as a
        document with a fresh timestamp, skip the question)."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if check and self.has_blob(repository, digest):
            return digest
        status, headers, body = self.request("POST", f"/v2/{repository}/blobs/uploads/", data=b"")
        self._check(status, f"starting a blob upload to {repository}", body, ok=(202,))
        location = headers.get("location", "")
        url = urllib.parse.urljoin(self.base + "/", location)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        status, _, body = self.request(
            "PUT", url, data=data, headers={"Content-Type": "application/octet-stream"}
        )
        self._check(status, f"uploading blob {digest}", body, ok=(201,))
        return digest

    def get_blob(
        self, repository: str, digest: str, *, what: str = "blob", max_bytes: int = BLOB_MAX_BYTES
    ) -> bytes:
        """A blob's bytes, in memory (``what``, for messages, at most ``max_bytes``), checked against
        ``digest``."""
        status, _, body = self.request(
            "GET", f"/v2/{repository}/blobs/{digest}", what=what, max_bytes=max_bytes
        )
        if status == 404:
            raise ContentNotFoundError(f"blob {digest} not found in {self.registry}/{repository}")
        self._check(status, f"reading blob {digest}", body)
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise ContentDigestError(
                f"blob {digest} from {self.registry}/{repository} does not match its digest"
            )
        return body

    def download_blob(
        self, repository: str, digest: str, path: Path, *, max_bytes: int = CONTENT_BLOB_MAX_BYTES
    ) -> None:
        """Stream a blob to ``path`` (at most ``max_bytes``; never held in memory), checked against ``digest``;
        nothing is left at ``path`` when it fails."""
        hasher = hashlib.sha256()
        try:
            out = path.open("wb")
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

        def write(chunk: bytes) -> None:
            hasher.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:  # a full disk is not the registry's fault
                raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

        try:
            with out:
                status, _, body = self.request(
                    "GET", f"/v2/{repository}/blobs/{digest}", what="blob", max_bytes=max_bytes, sink=write
                )
            if status == 404:
                raise ContentNotFoundError(f"blob {digest} not found in {self.registry}/{repository}")
            self._check(status, f"reading blob {digest}", body)
            if "sha256:" + hasher.hexdigest() != digest:
                raise ContentDigestError(
                    f"blob {digest} from {self.registry}/{repository} does not match its digest"
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def referrers(
        self, repository: str, digest: str, artifact_type: str | None = None
    ) -> list[dict[str, Any]] | None:
        """Descriptors from the referrers API, every page (``Link: <...>; rel="next"``), only those of
        ``artifact_type`` when given (the registry may filter; the result is filtered here anyway).

        None when the registry has no referrers API: a 404, or a 200 that is not an image index (some front
        ends answer any path; oras-go applies the same test)."""
        path = f"/v2/{repository}/referrers/{digest}"
        url = path + ("?" + urllib.parse.urlencode({"artifactType": artifact_type}) if artifact_type else "")
        found: list[dict[str, Any]] = []
        for page in range(MAX_REFERRER_PAGES):
            status, headers, body = self.request(
                "GET",
                url,
                headers={"Accept": OCI_INDEX},
                what="referrers index",
                max_bytes=MANIFEST_MAX_BYTES,
            )
            if page == 0 and status == 404:
                return None
            self._check(status, f"listing referrers of {digest}", body)
            if page == 0 and headers.get("content-type", "").split(";")[0].strip() != OCI_INDEX:
                return None
            found.extend(
                m for m in parse_json(body, "referrers index").get("manifests") or [] if isinstance(m, dict)
            )
            link = _NEXT_LINK.search(headers.get("link", ""))
            if not link:
                break
            url = urllib.parse.urljoin(self.base + path, link.group(1))
        else:
            raise StoreError(f"registry {self.registry}: more than {MAX_REFERRER_PAGES} pages of referrers")
        return [d for d in found if not artifact_type or d.get("artifactType") == artifact_type]

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``, following the pages (``Link: <...>; rel="next"``); [] when the
        repository does not exist yet."""
        path = f"/v2/{repository}/tags/list"
        url = f"{path}?n={TAG_PAGE}"
        found: list[str] = []
        for page in range(MAX_TAG_PAGES):
            status, headers, body = self.request("GET", url, what="tag list", max_bytes=MANIFEST_MAX_BYTES)
            if page == 0 and status == 404:
                return []
            self._check(status, f"listing the tags of {repository}", body)
            tags = parse_json(body, "tag list").get("tags") or []
            if not isinstance(tags, list):
                raise StoreError(f"registry {self.registry}: the tag list of {repository} is not a list")
            found.extend(t for t in tags if isinstance(t, str))
            link = _NEXT_LINK.search(headers.get("link", ""))
            if not link:
                return found
            url = urllib.parse.urljoin(self.base + path, link.group(1))
        raise StoreError(f"registry {self.registry}: more than {MAX_TAG_PAGES} pages of tags in {repository}")

    def delete_manifest(self, repository: str, digest: str) -> bool:
        """Delete a manifest (and so the tags that name it); False when the registry does not allow deleting
        (405, or an UNSUPPORTED error), True when it is gone (or was already)."""
        status, _, body = self.request("DELETE", f"/v2/{repository}/manifests/{digest}")
        if status in (200, 202, 404):
            return True
        if status == 405 or (status == 400 and b"UNSUPPORTED" in body):
            return False
        self._check(status, f"deleting manifest {digest}", body, ok=(202,))
        return True

    def _check(self, status: int, what: str, body: bytes, ok: tuple[int, ...] = (200,)) -> None:
        if status not in ok:
            detail = body[:200].decode("utf-8", "replace").strip().replace("\n", " ")
            raise StoreError(f"registry {self.registry}: {what} failed: HTTP {status} {detail}".rstrip())


def parse_json(body: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise StoreError(f"the registry returned an invalid {what}: {exc}") from exc
    if not isinstance(doc, dict):
        raise StoreError(f"the registry returned an invalid {what}: not a JSON object")
    return doc
