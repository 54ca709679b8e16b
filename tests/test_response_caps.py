"""Bounded answers (issue 13, item 4): the decoded size of every answer is capped, and every call
has a total deadline across connecting, every read and the retries' waits.

Each test runs a raw HTTP server on 127.0.0.1 that misbehaves as told: a gzip bomb, an endless
body, a body or headers sent a byte at a time. What is asserted holds whatever the memory or
the speed of the machine: the error, how far the server got, a lower bound on the time taken.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from reconciler.http.transport import (
    HttpError,
    MiB,
    NoAnswer,
    Transport,
    TransportSettings,
)

FAST = TransportSettings(
    connect_timeout=2.0,
    read_timeout=5.0,
    retries=2,
    backoff_factor=0.01,
    backoff_max=0.05,
    backoff_jitter=0.0,
)
MEMBER = gzip.compress(b"\0" * (10 * MiB))  # about 10 KB that expand to 10 MiB


@dataclass
class Server:
    """What the server did: bytes of body it wrote, and whether the client hung up on it."""

    url: str = ""
    connections: int = 0
    sent: int = 0
    hung_up: bool = False
    stop: threading.Event = field(default_factory=threading.Event)


Behaviour = Callable[[socket.socket, Server], None]


@contextmanager
def misbehaving(behaviour: Behaviour) -> Iterator[Server]:
    """A server that reads each request's head, then lets ``behaviour`` answer."""
    server = Server()
    listener = socket.create_server(("127.0.0.1", 0))
    server.url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def handle(conn: socket.socket) -> None:
        server.connections += 1
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65_536)
                if not data:
                    return
                head += data
            try:
                behaviour(conn, server)
            except OSError:  # the client closed the connection
                server.hung_up = True

    listener.settimeout(0.02)  # so that the loop sees the end of the test

    def accept() -> None:
        while not server.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join()
        listener.close()


def send_all(conn: socket.socket, server: Server, data: bytes) -> None:
    conn.sendall(data)
    server.sent += len(data)


def transport(url: str, settings: TransportSettings = FAST, **kw: Any) -> Transport:
    kw.setdefault("sleep", lambda seconds: None)
    t = Transport(url, settings, None, **kw)
    t.session.trust_env = False  # 127.0.0.1 only, whatever the proxy settings
    return t


# --- the cap on an answer's decoded size -----------------------------------------------------


def gzip_bomb(members: int) -> Behaviour:
    body = MEMBER * members

    def answer(conn: socket.socket, server: Server) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        conn.sendall(head.encode())
        for start in range(0, len(body), 65_536):
            send_all(conn, server, body[start : start + 65_536])

    return answer


def test_a_2_mb_gzip_bomb_is_stopped_at_the_cap() -> None:
    """200 gzip members of 10 MiB of zeros: 2 MB on the wire, 2 GiB decoded."""
    assert len(MEMBER * 200) < 3_000_000
    with (
        misbehaving(gzip_bomb(200)) as server,
        transport(server.url) as t,
        pytest.raises(NoAnswer) as caught,
    ):
        t.send("GET", f"{server.url}/v1/orgs/acme/guardrails")
    assert str(caught.value) == "GET /v1/orgs/acme/guardrails: answer larger than 64 MiB; stopped"
    assert caught.value.maybe_processed


def endless(status: str) -> Behaviour:
    """A gzip body of 1 GB on the wire, 1 TiB decoded: written for as long as the client
    reads, so how far the server got says how much the client read."""

    def answer(conn: socket.socket, server: Server) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode())
        for _ in range(100_000):
            send_all(conn, server, MEMBER)

    return answer


def hung_up(server: Server) -> bool:
    for _ in range(500):  # the server notices on its next writes
        if server.hung_up:
            return True
        server.stop.wait(0.01)
    return False


@pytest.mark.parametrize(
    "status",
    ["200 OK", "503 Service Unavailable"],  # a 503's body is read by the retry policy
)
def test_an_endless_gzip_stream_is_stopped_and_never_read_to_its_end(status: str) -> None:
    settings = replace(FAST, max_body_bytes=1 * MiB)
    with misbehaving(endless(status)) as server, transport(server.url, settings) as t:
        with pytest.raises(NoAnswer, match=r"^GET /x: answer larger than 1 MiB; stopped$"):
            t.send("GET", f"{server.url}/x")
        assert hung_up(server)
        assert t.request_count == 1  # an answer over the cap is not retried
    assert server.sent < len(MEMBER) * 10_000  # a tenth of it: socket buffers at most


def test_a_body_declared_longer_than_the_cap_is_not_read() -> None:
    """100 MiB announced, 5 bytes sent, then silence: refused at once, not after a timeout."""

    def announce(conn: socket.socket, server: Server) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {100 * MiB}\r\n\r\nhello".encode())
        server.stop.wait(30)

    with (
        misbehaving(announce) as server,
        transport(server.url) as t,
        pytest.raises(NoAnswer, match=r"answer larger than 64 MiB; stopped"),
    ):
        t.send("GET", f"{server.url}/x")


def test_downloads_of_a_derived_transport_have_their_own_cap() -> None:
    body = b"x" * 3_000

    def answer(conn: socket.socket, server: Server) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
        send_all(conn, server, head.encode() + body)

    settings = replace(FAST, max_body_bytes=1_000, max_download_bytes=5_000)
    with misbehaving(answer) as server, transport(server.url, settings) as t:
        with pytest.raises(NoAnswer, match=r"answer larger than 1,000 bytes; stopped"):
            t.send("GET", f"{server.url}/api")
        with t.derive(f"{server.url}/blob") as storage:
            storage.session.trust_env = False
            assert storage.send("GET", f"{server.url}/blob").content == body


# --- the deadline of a call ------------------------------------------------------------------

DEADLINE = replace(FAST, deadline=0.3)  # each server below would take 30 s


def drip(head: bytes, then: bytes) -> Behaviour:
    """``head`` at once, then ``then`` a byte every 0.1 s."""

    def answer(conn: socket.socket, server: Server) -> None:
        conn.sendall(head)
        for byte in then:
            if server.stop.wait(0.1):
                return
            send_all(conn, server, bytes([byte]))

    return answer


@pytest.mark.parametrize(
    ("head", "then"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n", b"x" * 300),
        (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"y" * 292),
    ],
    ids=["body", "headers"],
)
def test_a_server_sending_a_byte_at_a_time_is_stopped_at_the_deadline(
    head: bytes, then: bytes
) -> None:
    """Every byte comes well within the read timeout (5 s); the deadline stops the call."""
    with misbehaving(drip(head, then)) as server, transport(server.url, DEADLINE) as t:
        started = time.monotonic()
        with pytest.raises(NoAnswer) as caught:
            t.send("GET", f"{server.url}/x")
        elapsed = time.monotonic() - started
        assert str(caught.value) == "GET /x: timed out: no complete answer within 0.3 s (deadline)"
        assert caught.value.maybe_processed and t.request_count == 1  # not retried
        assert elapsed >= 0.3
        assert server.sent < len(then)


def test_a_post_past_its_deadline_is_not_resent() -> None:
    body = drip(b"HTTP/1.1 201 Created\r\nContent-Length: 300\r\n\r\n", b"x" * 300)
    with misbehaving(body) as server, transport(server.url, DEADLINE) as t:
        with pytest.raises(NoAnswer, match=r"\(deadline\)") as caught:
            t.send("POST", f"{server.url}/x", json={"name": "g"})
        assert caught.value.maybe_processed and t.request_count == 1


def test_a_retry_wait_that_would_pass_the_deadline_is_not_waited() -> None:
    def busy(conn: socket.socket, server: Server) -> None:
        body = b'{"message": "busy"}'
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        send_all(conn, server, head.encode() + body)

    sleeps: list[float] = []
    settings = replace(FAST, deadline=5.0, retry_after_max=60.0)
    with (
        misbehaving(busy) as server,
        transport(server.url, settings, sleep=sleeps.append) as t,
        pytest.raises(HttpError) as caught,
    ):
        t.send("GET", f"{server.url}/x")
    assert sleeps == []
    assert str(caught.value) == (
        "GET /x: 503 Service Unavailable: busy (the server asks to wait 10 s, longer than this "
        "command waits (the call's deadline of 5 s); run it again later)"
    )


def test_the_deadline_leaves_later_calls_and_their_connections_alone() -> None:
    """A call that ends in time is not cut afterwards: its pooled connection serves the next
    call, past the first call's deadline."""
    body = b'{"ok": true}'

    def keep_alive(conn: socket.socket, server: Server) -> None:
        reply = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        send_all(conn, server, reply)
        while not server.stop.is_set():  # every further request on this connection
            data = conn.recv(65_536)
            if not data:
                return
            send_all(conn, server, reply)

    settings = replace(FAST, deadline=0.1)
    with misbehaving(keep_alive) as server, transport(server.url, settings) as t:
        assert t.send("GET", f"{server.url}/1").json() == {"ok": True}
        server.stop.wait(0.15)  # the first call's deadline passes
        assert t.send("GET", f"{server.url}/2").json() == {"ok": True}
        assert server.connections == 1


def test_settings_refuse_a_deadline_or_cap_that_cannot_work() -> None:
    for bad in ({"deadline": 0}, {"deadline": float("nan")}, {"max_body_bytes": 0}):
        with pytest.raises(ValueError, match="invalid client settings"):
            TransportSettings(**bad)
