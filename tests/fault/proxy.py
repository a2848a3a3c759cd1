"""A fault-injecting HTTP proxy: the one seam where tests break the network between the service
and moto or osmem-server. Rules see each request and may answer for the upstream, reset the
connection, delay, hang, truncate the response, or rewrite it."""

from __future__ import annotations

import gzip
import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "accept-encoding", "host"}


@dataclass
class Request:
    """What the client sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def target(self) -> str:
        """The AWS JSON-protocol operation (``AmazonSQS.DeleteMessage``), if any."""
        return self.headers.get("x-amz-target", "")

    def text(self) -> str:
        """The body, un-gzipped, as text."""
        raw = gzip.decompress(self.body) if self.headers.get("content-encoding") == "gzip" else self.body
        return raw.decode("utf-8", "replace")


@dataclass
class Respond:
    """Answer instead of the upstream."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass
class Reset:
    """Close the connection abruptly (RST), answering nothing."""


@dataclass
class Delay:
    """Wait, then forward."""

    seconds: float


@dataclass
class Hang:
    """Hold the request until ``release`` is set (or ``seconds`` pass), then reset."""

    release: threading.Event
    seconds: float = 60.0


@dataclass
class Truncate:
    """Forward, but send only the first ``keep`` bytes of the body under the full length."""

    keep: int


@dataclass
class Rewrite:
    """Forward, then pass (status, body) through ``fn`` before answering."""

    fn: Callable[[int, bytes], tuple[int, bytes]]


Rule = Callable[[Request], object]


class FaultProxy:
    """Forwards to ``upstream`` unless a rule says otherwise. Use as a context manager."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rules: list[Rule] = []
        self.seen: list[Request] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, predicate: Callable[[Request], bool]) -> int:
        """How many requests so far matched ``predicate``."""
        with self._lock:
            return sum(1 for r in self.seen if predicate(r))

    def decide(self, request: Request) -> object:
        """The first rule's action for ``request`` (None: forward)."""
        with self._lock:
            self.seen.append(request)
            rules = list(self.rules)
        for rule in rules:
            action = rule(request)
            if action is not None:
                return action
        return None

    def forward(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request upstream; return status, headers and body."""
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS | {"content-length"}}
        headers["Host"] = f"{self.upstream[0]}:{self.upstream[1]}"
        conn.request(request.method, request.path, body=request.body or None, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_HEADERS], body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    act(self, proxy, request, proxy.decide(request))
                except OSError:  # the client gave up (its time-out): nothing to answer
                    self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        return Handler


def act(handler: BaseHTTPRequestHandler, proxy: FaultProxy, request: Request, action: object) -> None:
    """Carry out one action on the client connection."""
    if isinstance(action, Reset):
        _reset(handler)
        return
    if isinstance(action, Hang):
        action.release.wait(action.seconds)
        _reset(handler)
        return
    if isinstance(action, Respond):
        _answer(handler, action.status, list(action.headers.items()), action.body)
        return
    if isinstance(action, Delay):
        time.sleep(action.seconds)
    status, headers, body = proxy.forward(request)
    if isinstance(action, Rewrite):
        status, body = action.fn(status, body)
    if isinstance(action, Truncate):
        _answer(handler, status, headers, body, send=body[: action.keep])
        handler.close_connection = True
        return
    _answer(handler, status, headers, body, head=request.method == "HEAD")


def _answer(handler, status: int, headers: list[tuple[str, str]], body: bytes, send: bytes | None = None,
            head: bool = False) -> None:
    handler.send_response(status)
    for key, value in headers:
        if key.lower() != "content-length" or head:
            handler.send_header(key, value)
    if not head:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if not head:
        handler.wfile.write(body if send is None else send)
    handler.wfile.flush()


def _reset(handler: BaseHTTPRequestHandler) -> None:
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()
