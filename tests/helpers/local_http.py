"""A scripted HTTP server on 127.0.0.1, for what the sandbox cannot do: odd answers, dropped
connections, hangs, TLS, a proxy that echoes. ``serve(answer)`` runs it for a ``with`` block;
``answer(seen)`` gives each reply."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

Reply = tuple[int, dict[str, str], bytes]  # status, headers, body
DROP = "drop"  # read the request, close the connection without an answer
HANG = "hang"  # read the request, answer nothing until the block ends


@dataclass
class Seen:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def reply(status: int, body: Any = b"", **headers: str) -> Reply:
    """A reply; a body that is not bytes is sent as JSON (``Content_Type`` -> ``Content-Type``)."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
        headers.setdefault("Content_Type", "application/json")
    return status, {k.replace("_", "-"): v for k, v in headers.items()}, body


@contextmanager
def serve(
    answer: Callable[[Seen], Reply | str], *, tls: ssl.SSLContext | None = None
) -> Iterator[str]:
    """Serve ``answer`` on 127.0.0.1 (over TLS with ``tls``); yields the base URL."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            got = answer(seen)
            if got == HANG:
                release.wait(30)
            if isinstance(got, str):  # DROP, or a HANG released
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, headers, payload = got
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with openssl in ``directory`` (the test is
    skipped where there is no openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    command += " -days 1 -subj /CN=test -addext subjectAltName=IP:127.0.0.1"
    args = [*command.split(), "-keyout", str(key), "-out", str(cert)]
    subprocess.run(args, check=True, capture_output=True)
    return cert, key
