"""A test-side OCI 1.1 front for the real docker-registry 2.8, which has no referrers API.

It forwards every request to the registry unchanged (the ``Host`` header too, so upload locations point back
here), except that it

- remembers each manifest PUT (201) that has a ``subject``, and answers such PUTs with ``OCI-Subject: <subject
  digest>`` as OCI 1.1 registries do (switch off with :attr:`ReferrersProxy.subject_header`);
- implements ``GET /v2/<name>/referrers/<digest>``: an image index of the remembered manifests whose subject is
  that digest, descriptors with ``artifactType`` (else the config media type) and the manifest's annotations,
  ``?artifactType=`` applied with ``OCI-Filters-Applied: artifactType``, and ``Link: <...>; rel="next"`` pages
  of :attr:`page_size` descriptors.

Only manifests pushed through the proxy are known: enough for the tests, which push everything through it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}
_MANIFEST_PUT = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_REFERRERS = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)$")


class ReferrersProxy:
    """The proxy's state and knobs; :attr:`host` is ``127.0.0.1:PORT``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.subject_header = True  # send OCI-Subject on manifest PUTs with a subject
        self.apply_filter = True  # honour ?artifactType= (else list everything, without the header)
        self.not_an_index = False  # answer the referrers API with 200 text/html, like a catch-all front end
        self.reverse = False  # list newest first (the spec defines no order)
        self.page_size: int | None = None
        self.busy = (
            0  # answer this many next requests 503 Service Unavailable (Retry-After: 0), as a busy registry
        )
        self.log: list[tuple[str, str]] = []  # (method, path with query) of every request
        self._referrers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.host = f"127.0.0.1:{self._server.server_address[1]}"

    def remember(self, name: str, body: bytes, content_type: str) -> str | None:
        """Index a pushed manifest by its subject; returns the subject digest (None without one)."""
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        subject = doc.get("subject") if isinstance(doc, dict) else None
        if not isinstance(subject, dict) or not subject.get("digest"):
            return None
        media = doc.get("mediaType") or content_type
        descriptor: dict[str, Any] = {
            "mediaType": media,
            "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
            "size": len(body),
        }
        artifact_type = doc.get("artifactType") or (
            (doc.get("config") or {}).get("mediaType") if media != OCI_INDEX else None
        )
        if artifact_type:
            descriptor["artifactType"] = artifact_type
        if doc.get("annotations"):
            descriptor["annotations"] = doc["annotations"]
        with self._lock:
            known = self._referrers.setdefault((name, str(subject["digest"])), [])
            known[:] = [d for d in known if d["digest"] != descriptor["digest"]] + [descriptor]
        return str(subject["digest"])

    def listing(self, name: str, digest: str) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self._referrers.get((name, digest), []))
        return found[::-1] if self.reverse else found

    @contextmanager
    def running(self) -> Iterator[ReferrersProxy]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)


def _handler(proxy: ReferrersProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_HEAD(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def _handle(self) -> None:
            proxy.log.append((self.command, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            with proxy._lock:
                busy, proxy.busy = proxy.busy > 0, max(proxy.busy - 1, 0)
            if busy:
                if length:
                    self.rfile.read(length)
                self._reply(503, [("Retry-After", "0")], b'{"errors":[{"code":"UNAVAILABLE"}]}')
                return
            split = urllib.parse.urlsplit(self.path)
            referrers = _REFERRERS.match(split.path)
            if self.command == "GET" and referrers:
                self._referrers(referrers["name"], referrers["digest"], urllib.parse.parse_qs(split.query))
                return
            body = self.rfile.read(length) if length else None
            status, headers, data = self._forward(body)
            put = _MANIFEST_PUT.match(split.path)
            if self.command == "PUT" and put and status == 201 and body:
                subject = proxy.remember(put["name"], body, self.headers.get("Content-Type", ""))
                if subject and proxy.subject_header:
                    headers.append(("OCI-Subject", subject))
            self._reply(status, headers, data)

        def _forward(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
            host, _, port = proxy.upstream.partition(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
                return resp.status, kept, data
            finally:
                conn.close()

        def _referrers(self, name: str, digest: str, query: dict[str, list[str]]) -> None:
            if proxy.not_an_index:
                self._reply(200, [("Content-Type", "text/html")], b"<html>catch-all</html>")
                return
            found = proxy.listing(name, digest)
            headers = [("Content-Type", OCI_INDEX)]
            wanted = query.get("artifactType", [None])[0]
            if wanted and proxy.apply_filter:
                found = [d for d in found if d.get("artifactType") == wanted]
                headers.append(("OCI-Filters-Applied", "artifactType"))
            if proxy.page_size:
                start = int(query.get("page", ["0"])[0])
                end = start + proxy.page_size
                if end < len(found):
                    rest = {k: v[0] for k, v in query.items() if k != "page"} | {"page": str(end)}
                    link = f"/v2/{name}/referrers/{digest}?{urllib.parse.urlencode(rest)}"
                    headers.append(("Link", f'<{link}>; rel="next"'))
                found = found[start:end]
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
            self._reply(200, headers, json.dumps(index).encode())

        def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in ("content-length", "date", "server"):  # send_response sets the last two
                    self.send_header(key, value)
            if self.command == "HEAD":
                sent = {k.lower(): v for k, v in headers}.get("content-length", "0")
                self.send_header("Content-Length", sent)
                self.end_headers()
                return
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
