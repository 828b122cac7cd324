"""A threaded local HTTP server for fakes, scripted faults, and a transport adapter that sends
a client's https:// requests to it (clients such as simple-salesforce build https URLs)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

ORIGINAL_HOST = "X-Original-Host"


@dataclass
class Request:
    """One request as the fake saw it (host = the host the client meant to reach)."""

    method: str
    host: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"

    def encoded(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body, ensure_ascii=False).encode("utf-8")
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return self.body


DROP = "drop"  # a fault action: close the connection without answering


@dataclass
class Fault:
    """Answer matching requests with `response` (or DROP, or a delay) `times` times."""

    path: str  # regular expression searched in the path (with query string)
    response: Response | str | None = None
    times: int = 1
    method: str | None = None
    delay: float = 0.0
    skip: int = 0  # let this many matching requests through first
    hits: int = 0

    def matches(self, request: Request, target: str) -> bool:
        return ((self.method is None or self.method == request.method)
                and re.search(self.path, target) is not None)


class FakeServer:
    """Base of the fakes: subclasses implement `handle(request) -> Response`."""

    def __init__(self):
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    host=self.headers.get(ORIGINAL_HOST) or self.headers.get("Host", ""),
                    path=parts.path, query=parse_qs(parts.query),
                    headers={k: v for k, v in self.headers.items()}, body=body)
                response = fake._dispatch(request, self.path)
                if response == DROP:
                    self.close_connection = True
                    return
                payload = response.encoded()
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ faults

    def fail(self, path: str, response: Response | str, times: int = 1, method: str | None = None,
             skip: int = 0) -> Fault:
        fault = Fault(path, response, times, method, skip=skip)
        self.faults.append(fault)
        return fault

    def drop(self, path: str, times: int = 1, skip: int = 0) -> Fault:
        return self.fail(path, DROP, times, skip=skip)

    def delay(self, path: str, seconds: float, times: int = 1) -> Fault:
        fault = Fault(path, None, times, delay=seconds)
        self.faults.append(fault)
        return fault

    def _dispatch(self, request: Request, target: str):
        with self._lock:
            self.requests.append(request)
            chosen = None
            for fault in self.faults:
                if fault.hits < fault.skip + fault.times and fault.matches(request, target):
                    fault.hits += 1
                    if fault.hits > fault.skip:
                        chosen = fault
                        break
        if chosen is not None:
            if chosen.delay:
                time.sleep(chosen.delay)
            if chosen.response is not None:
                return chosen.response
        try:
            return self.handle(request)
        except Exception as exc:  # a bug in the fake: make it visible to the test
            return Response(599, {"fake_error": repr(exc)})

    def handle(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


class RouteTo(HTTPAdapter):
    """Sends every request to the fake at `base` over plain HTTP, keeping the path and
    query, and telling the fake which host the client meant (header X-Original-Host)."""

    def __init__(self, base: str):
        super().__init__()
        self.netloc = urlsplit(base).netloc

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers[ORIGINAL_HOST] = parts.netloc
        request.url = urlunsplit(("http", self.netloc, parts.path, parts.query, ""))
        return super().send(request, **kwargs)


def route_to(session: requests.Session, base: str) -> requests.Session:
    """Mount `RouteTo(base)` for every https:// and http:// URL of `session`."""
    adapter = RouteTo(base)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
