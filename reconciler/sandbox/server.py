"""Serve a WSGI app on host:port from a background thread, with werkzeug's threaded server.

``start`` binds first (port 0 picks a free port) and returns the bound URL; ``stop`` stops
accepting, then waits for the requests in flight. Request logging is off.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from reconciler.sandbox import SandboxError

HANDLER_TIMEOUT_S = 30.0


class ServerError(SandboxError):
    """The server cannot listen: one line for the user."""


class _InFlight:
    """Counts the handler threads that are answering a connection."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def enter(self) -> None:
        with self._idle:
            self._count += 1

    def leave(self) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


def _handler_class(in_flight: _InFlight) -> type[WSGIRequestHandler]:
    class Handler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = HANDLER_TIMEOUT_S  # a stalled client frees its thread

        def setup(self) -> None:
            super().setup()
            in_flight.enter()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                in_flight.leave()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # quiet: no request log

    return Handler


class RunningServer:
    def __init__(self, server: BaseWSGIServer, in_flight: _InFlight, url: str) -> None:
        self.url = url
        self._server = server
        self._in_flight = in_flight
        self._stopped = False
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = f"sandbox-server {url}"
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.port)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, then give the requests in flight up to ``timeout`` seconds."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()  # serve_forever returns and closes the listening socket
        self._thread.join(timeout)
        self._in_flight.wait_idle(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start(app: Flask, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    in_flight = _InFlight()
    try:
        server = make_server(
            host,
            port,
            app,
            threaded=True,
            request_handler=_handler_class(in_flight),
            fd=listener.fileno(),
        )
    finally:
        listener.close()  # the server holds its own duplicate of the socket
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(server, in_flight, f"http://{shown}:{server.port}")
