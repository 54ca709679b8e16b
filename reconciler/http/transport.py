"""The one HTTP transport: every client of a web API in reconciler is built on it.

A ``Transport`` is the only place in the package that builds a ``requests.Session`` and retries.
It does, for every client:

- auth through ``session.auth`` (``BearerAuth``, or requests' ``HTTPBasicAuth``), so
  ``~/.netrc`` never replaces it, even with no credential, and no repr shows it. ``trust_env``
  stays on: ``HTTPS_PROXY``, ``NO_PROXY`` and ``REQUESTS_CA_BUNDLE`` work as in any requests
  program;
- the URL check (https, or plain http to a loopback address: ``settings.check_url``), a
  (connect, read) timeout on every request; a redirect is returned as it is, never followed;
- retries by urllib3's ``Retry`` mounted on the session, steered by a ``RetryPolicy``: which
  answers are retried, for which methods, after how long (``Retry-After``, capped; a client adds
  its own rate-limit rules). A request that may have been processed is resent only if its
  method is idempotent: a POST comes back to its client after a 5xx or an error once it was
  sent, and is retried only when the server provably did not process it (the connection
  could not be opened, or a refusal such as 429). A connection that cannot be opened is
  retried only ``connect_retries`` times. A wait over ``wait_max``, or over
  ``total_wait_max`` with the call's earlier waits, is an error that names the wait. Each
  retry is logged (INFO, scrubbed: ``retrying``), which the command line prints on stderr;
- "no answer" errors from the exception chain (proxy, DNS, refused, connect or read timeout,
  TLS, reset), with ``maybe_processed``; the server's own message from an error body
  (JSON:API ``errors``, ``{"error": ...}``, ``{"message": ..., "errors": [...]}``, plain text,
  an HTML page);
- pagination (``Link: rel="next"`` or ``links.next``) that stays on the API's host, never
  loops, and stops at ``max_pages``;
- a cap on the decoded size of every answer (``max_body_bytes``; ``max_download_bytes`` for a
  derived transport, which fetches downloads), counted as the body streams in, so a small
  gzip answer that expands to gigabytes is stopped at the cap; and a total ``deadline`` per
  call, across connecting, every read and the retries' waits: a watchdog thread shuts the
  socket of a call that passes it, so a server that sends one byte a second is stopped too;
- every secret the run knows (``reconciler.secrets``: the token, every resolved ``fromEnv``
  value, the ServiceNow credentials) and every one the transport knows (its auth's, and any a
  client adds) scrubbed from every error text, in any letter case, before the text is cut to
  its length limit. The transport's own are made known to the run.

A client keeps what is particular to its service: its documents, its hints, its rate limits.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import io
import itertools
import json
import logging
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.client import RemoteDisconnected
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
)
from urllib3.poolmanager import pool_classes_by_scheme
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from reconciler import __version__
from reconciler import secrets as run_secrets
from reconciler.errors import ReconcilerError
from reconciler.settings import Secret, check_url

_log = logging.getLogger(__name__)

MAX_DETAIL = 500  # characters of a server's message shown in an error
_BODY_READ = 65_536  # characters of an error body looked at
_CHUNK = 65_536  # decoded bytes read at a time
MiB = 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True)
class TransportSettings:
    """Timeouts and waits (seconds), retries and caps: defaults for real use; tests scale them
    down. A call takes at most (retries + 1) x (connect + read timeout) + its waits, and never
    longer than ``deadline``."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # no byte received for this long
    retries: int = 5  # after the first attempt
    # of them, for a connection that cannot be opened (refused, no route, DNS, connect timeout):
    # a server restarting is back within a second, a dead or wrong address never is
    connect_retries: int = 2
    backoff_factor: float = 0.5  # urllib3's backoff: 0, 2f, 4f, 8f... s between attempts
    backoff_max: float = 30.0
    backoff_jitter: float = 0.5  # up to this much added to each backoff, at random
    retry_after_max: float = 60.0  # a longer Retry-After is cut to this
    wait_max: float = math.inf  # a longer wait is not waited for: an error names it
    total_wait_max: float = math.inf  # the same for all the waits of one call together
    max_pages: int = 1000  # pages followed per list
    deadline: float = 300.0  # one call in all: connecting, every read, the retries' waits
    max_body_bytes: int = 64 * MiB  # an answer's body, decoded
    max_download_bytes: int = 256 * MiB  # the same for a derived transport (downloads)

    def __post_init__(self) -> None:
        numbers = (
            self.connect_timeout,
            self.read_timeout,
            self.backoff_factor,
            self.backoff_max,
            self.backoff_jitter,
            self.retry_after_max,
            self.wait_max,
            self.total_wait_max,
        )
        if (
            not all(n >= 0 for n in numbers)
            or self.retries < 0
            or self.connect_retries < 0
            or self.max_pages < 1
            or not self.deadline > 0
            or self.max_body_bytes < 1
            or self.max_download_bytes < 1
        ):
            raise ValueError(f"invalid client settings: {self}")


# --- auth ----------------------------------------------------------------------------------


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` through ``session.auth``, so ``~/.netrc`` cannot replace
    it and no repr shows it; with no token, no header (and still no ``~/.netrc``)."""

    def __init__(self, token: Secret | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)" if self._token is not None else "BearerAuth(no token)"

    def secrets(self) -> tuple[str, ...]:
        return (self._token.reveal(),) if self._token is not None else ()


def _secrets_of(auth: AuthBase) -> list[str]:
    """The values an auth puts on the wire, to scrub from error texts."""
    if isinstance(auth, BearerAuth):
        return list(auth.secrets())
    if isinstance(auth, HTTPBasicAuth):
        user, password = (
            v.decode() if isinstance(v, bytes) else str(v) for v in (auth.username, auth.password)
        )
        pair = f"{user}:{password}".encode()  # what an echoed Authorization header shows
        return [password, base64.b64encode(pair).decode("ascii")]
    return []


# --- errors --------------------------------------------------------------------------------


class HttpError(ReconcilerError):
    """A request that failed: method, path, status (None: no answer), the server's message."""

    service = ""  # prefixed to the message, e.g. "GitHub "

    def __init__(
        self, method: str, path: str, status: int | None, detail: str, *, hint: str = ""
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        self.hint = hint
        text = f"{self.service}{method} {path}: "
        if status is not None:
            text += status_text(status) + (": " if detail else "")
        text += detail
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class NoAnswer(HttpError):
    """No answer came: the connection failed or dropped, or the request timed out.

    ``maybe_processed`` is False only when the server provably never saw the request (the
    connection could not be opened).
    """

    def __init__(
        self, method: str, path: str, detail: str, *, maybe_processed: bool, hint: str = ""
    ) -> None:
        super().__init__(method, path, None, detail, hint=hint)
        self.maybe_processed = maybe_processed


class Client:
    """What every client of a web API shares: its ``transport``, closed with the client (also
    as a context manager), and the requests it sent."""

    transport: Transport

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.transport.request_count

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NoAnswerError(Protocol):
    """How a client makes its own "no answer" error (its ``NoAnswer`` class fits)."""

    def __call__(
        self, method: str, path: str, detail: str, *, maybe_processed: bool, hint: str = ""
    ) -> HttpError: ...


# --- the deadline of a call and the cap on answers -----------------------------------------


class _Call:
    """One call's deadline and the sockets it uses; ``expire`` shuts them, whatever is blocked
    reading from them, and no new attempt starts after it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self._sockets: list[Any] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Before an attempt is sent: none is sent once the deadline has passed."""
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise _Deadline()

    def watch(self, sock: Any) -> None:
        if sock is None:
            return
        with self._lock:
            if self.done:
                return
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._sockets.clear()


def _shut(sock: Any) -> None:
    """Shut a socket down (not close it: its owner does), which wakes a blocked read."""
    while sock is not None and not isinstance(sock, socket.socket):
        sock = getattr(sock, "socket", None)  # urllib3's SSLTransport (TLS through a proxy)
    if sock is not None:
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # not SSLSocket's: it drops state


class _Watchdog:
    """One daemon thread for every call of the process: it expires each call at its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Call]] = []
        self._numbers = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, call: _Call) -> None:
        with self._wake:
            if len(self._heap) > 1024 and len(self._heap) % 1024 == 0:  # drop finished calls
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (call.deadline, next(self._numbers), call))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="reconciler-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is call:
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)[2].expire()


_WATCHDOG = _Watchdog()
_calls = threading.local()  # the call this thread is making


def _current() -> _Call | None:
    call: _Call | None = getattr(_calls, "call", None)
    return call


def _connected(sock: Any) -> None:
    call = _current()
    if call is not None:
        call.watch(sock)


def _sending(sock: Any) -> None:
    call = _current()
    if call is not None:
        call.check()
        call.watch(sock)


class _Watched(HTTPConnection):
    """A connection whose socket the current call's deadline can shut."""

    def connect(self) -> None:
        super().connect()
        _connected(self.sock)

    def request(self, *args: Any, **kw: Any) -> None:
        _sending(self.sock)
        super().request(*args, **kw)


class _WatchedTLS(_Watched, HTTPSConnection):
    """The same over TLS (``_Watched`` first: its connect wraps the TLS one)."""


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Watched


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedTLS


_POOLS = {"http": _Pool, "https": _TLSPool}


class _Deadline(Exception):  # control flow: the client gets its own error
    pass


class _TooLarge(Exception):  # control flow: the client gets its own error
    pass


def _read_capped(chunks: Iterable[bytes], limit: int, close: Callable[[], None]) -> bytes:
    """A body, decoded, read until it passes ``limit`` bytes: then ``close`` and stop."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            close()
            raise _TooLarge()
        parts.append(chunk)
    return b"".join(parts)


def _too_long_declared(headers: Mapping[str, str], limit: int) -> bool:
    """A body that says, uncompressed, that it is longer than the cap: not read at all."""
    encoding = headers.get("Content-Encoding", "").strip().lower()
    length = headers.get("Content-Length", "").strip()
    return encoding in ("", "identity") and length.isdigit() and int(length) > limit


def _discard(response: BaseHTTPResponse) -> None:
    """Close an answer that is not read to its end, and give its connection back."""
    response.close()
    response.release_conn()


def size_text(limit: int) -> str:
    return f"{limit // MiB:,} MiB" if limit % MiB == 0 else f"{limit:,} bytes"


# --- the retry policy ----------------------------------------------------------------------


@dataclass
class Answer:
    """An answer as a retry policy sees it; the body is read only when asked for."""

    method: str
    status: int
    headers: Mapping[str, str]
    read: Callable[[], bytes] = field(repr=False)
    _body: bytes | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, method: str, response: requests.Response) -> Answer:
        return cls(method, response.status_code, response.headers, lambda: response.content)

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = self.read()
        return self._body

    @property
    def body_read(self) -> bool:
        return self._body is not None

    def text(self) -> str:
        return self.body[:_BODY_READ].decode("utf-8", "replace")


@dataclass(frozen=True)
class Wait:
    """A retry: after ``seconds`` (None: the exponential backoff), and at least ``at_least``."""

    seconds: float | None = None
    at_least: float = 0.0
    why: str = ""


class RetryPolicy:
    """Which answers are retried, for which methods, after how long. Clients subclass it.

    Errors before an answer follow the methods: a request whose connection could not be opened
    is retried for every method, any other error only for an ``idempotent`` one.
    """

    # PATCH is in: both APIs' PATCH sets the fields it sends, so sending it twice is harmless
    idempotent = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
    retry_statuses = frozenset({500, 502, 503, 504})  # retried for idempotent methods
    refusals = frozenset({429})  # refused before being processed: retried for every method

    def __init__(self, settings: TransportSettings, *, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.clock = clock

    def considers(self, method: str, status: int) -> bool:
        """Whether an answer may be retried; ``wait`` decides, seeing all of it."""
        return status in self.refusals or (
            status in self.retry_statuses and method in self.idempotent
        )

    def wait(self, answer: Answer) -> Wait | None:
        """How long to wait before sending the request again; None: not again."""
        if not self.considers(answer.method, answer.status):
            return None
        return Wait(self.hinted(answer), why=status_text(answer.status))

    def hinted(self, answer: Answer) -> float | None:
        """The wait the server asks for (``Retry-After``), cut to ``retry_after_max``."""
        seconds = retry_after(answer.headers.get("Retry-After"), self.clock)
        return None if seconds is None else min(seconds, self.settings.retry_after_max)


def retry_after(value: str | None, clock: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds (a number, or an HTTP date); None if absent or unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - clock())
    except (TypeError, ValueError, IndexError):
        return None


class _Kept(Exception):  # control flow, never shown
    """The policy read the body of an answer it does not retry: it goes back rebuilt."""

    def __init__(self, response: BaseHTTPResponse, body: bytes) -> None:
        self.response = response
        self.body = body

    def rebuilt(self) -> HTTPResponse:
        headers = HTTPHeaderDict(self.response.headers)
        headers.discard("Content-Encoding")  # the body is decoded now
        headers["Content-Length"] = str(len(self.body))
        return HTTPResponse(
            body=io.BytesIO(self.body),
            headers=headers,
            status=self.response.status,
            reason=self.response.reason,
            preload_content=False,
            decode_content=False,
        )


class _TooLong(Exception):  # control flow: the client gets its own error
    def __init__(self, answer: Answer, wait: float, *, deadline: float | None = None) -> None:
        self.answer = answer
        self.wait = wait
        self.deadline = deadline  # set: the wait would pass the call's deadline


class _Retry(Retry):
    """urllib3's Retry asking the transport's policy, sleeping by the transport's clock.

    ``increment`` sees each answer or error: it keeps an error after the request left from
    being resent for a method that is not idempotent, asks the policy whether and how long to
    wait, and stops at the caps. ``delay`` and ``waited`` travel down the chain of ``new()``
    copies, so one ``_Retry`` mounted on the session serves every call and thread.
    """

    def __init__(
        self, *args: Any, transport: Transport, waited: float = 0.0, delay: float = 0.0, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.transport = transport
        self.waited = waited  # by the call so far
        self.delay = delay  # before the next attempt

    def new(self, **kw: Any) -> Self:
        kw.setdefault("transport", self.transport)
        kw.setdefault("waited", self.waited)
        kw.setdefault("delay", self.delay)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        return self.transport.policy.considers(method, status_code)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        self.transport.sleep(self.delay)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        transport = self.transport
        call = _current()
        if call is not None and call.expired:
            if response is not None:
                _discard(response)
            raise _Deadline()
        wait = Wait()
        answer: Answer | None = None
        if error is not None:
            if (
                method is not None
                and not self._is_method_retryable(method)
                and not self._is_connection_error(error)
            ):
                raise error.with_traceback(_stacktrace)  # it may have been processed
        elif response is not None and method is not None:
            got = response
            answer = Answer(method, got.status, got.headers, lambda: transport.read_raw(got))
            decided = transport.policy.wait(answer)
            if decided is None:
                if answer.body_read:
                    raise _Kept(got, answer.body)
                raise MaxRetryError(_pool, url or "")  # type: ignore[arg-type]  # not retried
            wait = decided
            answer.body  # noqa: B018 - read here, within the cap (urllib3 would drain it all)
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            if response is not None and answer is not None and answer.body_read:
                raise _Kept(response, answer.body) from None
            raise
        backoff = retry.get_backoff_time()
        delay = max(wait.at_least, backoff if wait.seconds is None else wait.seconds)
        settings = transport.settings
        capped = delay > settings.wait_max or self.waited + delay > settings.total_wait_max
        past = call is not None and delay > call.remaining()  # the deadline would pass
        if capped or past:
            if answer is None:
                assert error is not None
                raise error.with_traceback(_stacktrace)
            answer.body  # noqa: B018 - read for the error's message
            raise _TooLong(answer, delay, deadline=None if capped else settings.deadline)
        retry.delay, retry.waited = delay, self.waited + delay
        transport._counted()
        done = len(retry.history)
        of = done + retry.left(error)
        line = transport.retrying(method or "", url or "", wait.why, error, (done, of), delay)
        _log.info("%s", line)
        return retry

    def left(self, error: Exception | None) -> int:
        """Retries still allowed after this one, for a failure like ``error``."""
        left = self.total if isinstance(self.total, int) else 0
        if error is not None and self._is_connection_error(error) and self.connect is not None:
            left = min(left, int(self.connect))
        return left


class _Adapter(HTTPAdapter):
    """Connections the deadline can shut; an answer a policy read goes back rebuilt."""

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is pool_classes_by_scheme:  # not a SOCKS proxy's
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        try:
            return super().send(request, *args, **kw)
        except _Kept as kept:
            return self.build_response(request, kept.rebuilt())


# --- the transport -------------------------------------------------------------------------


class Transport:
    """One session to one API: ``send`` one call (retried as the policy says), ``pages`` of a
    list, and the texts of errors (``describe``, ``path``, ``scrub``). Threads may share it."""

    def __init__(
        self,
        base_url: str,
        settings: TransportSettings,
        auth: AuthBase | None,
        *,
        what: str = "the API URL",
        origin: str = "",
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        error: type[HttpError] = HttpError,
        no_answer: NoAnswerError = NoAnswer,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_bytes: int | None = None,
    ) -> None:
        self.base_url = check_url(base_url, what)
        self.settings = settings
        self.max_bytes = settings.max_body_bytes if max_bytes is None else max_bytes
        self.policy = policy if policy is not None else RetryPolicy(settings, clock=clock)
        self.sleep = sleep
        self.clock = clock
        self._what = what
        self._origin = origin  # "API URL from --api": said when no connection could be opened
        self._error = error
        self._no_answer = no_answer
        auth = auth if auth is not None else BearerAuth(None)  # no credential, no ~/.netrc
        known = {s for s in (*secrets, *_secrets_of(auth)) if s}
        run_secrets.register(*known)  # every message of the run is scrubbed of them
        self._secrets = frozenset(f for s in known for f in run_secrets.forms(s))  # any length
        self._count = 0
        self._lock = threading.Lock()
        retry = _Retry(
            total=settings.retries,
            connect=min(settings.connect_retries, settings.retries),
            read=None,
            status=None,
            other=None,
            redirect=0,
            allowed_methods=self.policy.idempotent,
            backoff_factor=settings.backoff_factor,
            backoff_max=settings.backoff_max,
            backoff_jitter=settings.backoff_jitter,
            raise_on_status=False,  # the last answer comes back, with the server's message
            transport=self,
        )
        session = requests.Session()  # trust_env stays True: proxies and CA bundles as usual
        session.auth = auth
        session.headers["User-Agent"] = f"reconciler/{__version__}"
        session.headers.update(headers or {})
        adapter = _Adapter(max_retries=retry)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.session = session

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r})"

    def derive(self, base_url: str, auth: AuthBase | None = None, **kw: Any) -> Transport:
        """A transport like this one (settings, policy, errors, clock, proxies) to another
        place with other credentials: by default none, e.g. for a pre-signed URL. Its answers
        are downloads: capped at ``max_download_bytes``."""
        options: dict[str, Any] = {
            "what": self._what,
            "error": self._error,
            "no_answer": self._no_answer,
            "sleep": self.sleep,
            "clock": self.clock,
            "max_bytes": self.settings.max_download_bytes,
            **kw,
        }
        other = Transport(base_url, self.settings, auth, **options)
        other.session.trust_env = self.session.trust_env
        return other

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._count

    def _counted(self) -> None:
        with self._lock:
            self._count += 1

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calls ---

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One call, retried as the policy says; any status comes back, its body read (at most
        ``max_bytes`` of it, decoded). No answer, an answer over the cap or a call past its
        deadline raises the client's no-answer error; a wait over the caps, the client's
        error."""
        self._counted()
        s = self.settings
        call = _Call(s.deadline)
        outer, _calls.call = _current(), call
        if math.isfinite(s.deadline):
            _WATCHDOG.add(call)
        try:
            try:
                response = self.session.request(
                    method,
                    url,
                    timeout=(min(s.connect_timeout, s.deadline), min(s.read_timeout, s.deadline)),
                    allow_redirects=False,
                    stream=True,
                    **kwargs,
                )
                self._read_body(response, call)
            except _TooLong as too_long:
                raise self._too_long(method, url, too_long) from None
            except _TooLarge:
                raise self._too_large(method, url) from None
            except _Deadline:
                raise self._past_deadline(method, url) from None
            except requests.RequestException as exc:
                if call.expired:
                    raise self._past_deadline(method, url) from None
                raise self.no_answer(method, url, exc) from exc
        finally:
            call.finish()
            _calls.call = outer
        _log.debug("%s %s -> %s", method, path_of(url), response.status_code)
        return response

    def _read_body(self, response: requests.Response, call: _Call) -> None:
        """The whole body, decoded, into ``response.content``; over the cap, or past the
        deadline, the connection is closed and reading stops."""
        if _too_long_declared(response.headers, self.max_bytes):
            response.close()
            raise _TooLarge()
        body = _read_capped(response.iter_content(_CHUNK), self.max_bytes, response.close)
        if call.expired:  # the watchdog shut the socket: what came is not all
            response.close()
            raise _Deadline()
        response._content = body

    def read_raw(self, response: BaseHTTPResponse) -> bytes:
        """The body of an answer that urllib3 holds (for a retry policy), within the cap."""
        if _too_long_declared(response.headers, self.max_bytes):
            _discard(response)
            raise _TooLarge()
        chunks = response.stream(_CHUNK, decode_content=True)
        return _read_capped(chunks, self.max_bytes, lambda: _discard(response))

    def pages(
        self,
        url: str,
        read: Callable[[str], tuple[Iterable[T], str | None]],
        *,
        label: str = "the next page",
    ) -> Iterator[T]:
        """The items of every page: ``read(url)`` gives a page's items and its next link
        (relative or absolute), followed on this API's host only, never twice, ``max_pages``
        pages at most."""
        first, seen = url, {url}
        most = self.settings.max_pages
        for page in range(1, most + 1):
            items, link = read(url)
            yield from items
            if not link:
                return
            next_url = urljoin(url, link)
            if origin(next_url) != origin(self.base_url):
                raise self._malformed(url, f"{label} points to another host")
            if next_url in seen:
                raise self._malformed(url, f"{label} loops to a page seen")
            if page == most:
                break
            seen.add(next_url)
            url = next_url
        raise self._error(
            "GET", self.path(first), None, f"more than {most} pages of {label}; stopped"
        )

    # --- error texts ---

    def retrying(
        self,
        method: str,
        url: str,
        why: str,
        error: Exception | None,
        count: tuple[int, int],
        delay: float,
    ) -> str:
        """The line that says a call failed and when it is tried again (retry ``count[0]`` of
        ``count[1]``), scrubbed. It is logged at INFO on ``reconciler.http.transport``: the
        command line prints it on stderr."""
        if error is not None:
            why, _, _ = classify(error, self.settings, self.base_url)  # ``url``: a path
        when = f"in {delay:.1f} s" if delay >= 0.05 else "now"
        text = f"{self._error.service}{method} {self.path(url)}: {why or 'failed'}; "
        return cut(self.scrub(text + f"retry {count[0]} of {count[1]} {when}"))

    def scrub(self, text: str) -> str:
        """``text`` with every secret this transport and the run know replaced by ``***``, in
        any case."""
        return run_secrets.scrub(text, self._secrets)

    def path(self, url: str) -> str:
        """What an error shows of a URL: its path and query, scrubbed."""
        return self.scrub(path_of(url))

    def describe(self, response: requests.Response) -> str:
        """The server's message in an error answer: one line, scrubbed, then cut."""
        return self.detail(
            response.status_code, response.headers.get("Content-Type", ""), response.content
        )

    def detail(self, status: int, content_type: str, body: bytes) -> str:
        text = self.scrub(body.decode("utf-8", "replace")).strip()  # all of it, before any cut
        return cut(self.scrub(error_message(status, content_type, text[:_BODY_READ])))

    def no_answer(self, method: str, url: str, exc: requests.RequestException) -> HttpError:
        """The client's no-answer error for what the exception chain says went wrong."""
        detail, hint, maybe_processed = classify(exc, self.settings, url)
        if not maybe_processed and not hint:  # a wrong URL, maybe: say where it was set
            hint = self._origin
        return self._no_answer(
            method,
            self.path(url),
            cut(self.scrub(detail)),
            maybe_processed=maybe_processed,
            hint=self.scrub(hint),
        )

    def _too_long(self, method: str, url: str, too_long: _TooLong) -> HttpError:
        s, answer = self.settings, too_long.answer
        who = self._error.service.strip() or "the server"
        caps = [f"{s.wait_max:g} s"] if math.isfinite(s.wait_max) else []
        caps += [f"{s.total_wait_max:g} s in all"] if math.isfinite(s.total_wait_max) else []
        if too_long.deadline is not None:
            caps = [f"the call's deadline of {too_long.deadline:g} s"]
        hint = (
            f"{who} asks to wait {too_long.wait:,.0f} s, longer than this command waits "
            f"({', '.join(caps)}); run it again later"
        )
        content_type = answer.headers.get("Content-Type", "")
        detail = self.detail(answer.status, content_type, answer.body)
        return self._error(method, self.path(url), answer.status, detail, hint=hint)

    def _too_large(self, method: str, url: str) -> HttpError:
        detail = f"answer larger than {size_text(self.max_bytes)}; stopped"
        return self._no_answer(method, self.path(url), detail, maybe_processed=True)

    def _past_deadline(self, method: str, url: str) -> HttpError:
        detail = f"timed out: no complete answer within {self.settings.deadline:g} s (deadline)"
        return self._no_answer(method, self.path(url), detail, maybe_processed=True)

    def _malformed(self, url: str, why: str) -> HttpError:
        return self._error("GET", self.path(url), None, f"malformed answer: {why}")


# --- helpers -------------------------------------------------------------------------------


def is_success(response: requests.Response) -> bool:
    return 200 <= response.status_code < 300


def status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled: two URLs may share a token only if equal."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path + (f"?{parts.query}" if parts.query else ""))


def cut(text: str, limit: int = MAX_DETAIL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    return " ".join(text.split())


def error_message(status: int, content_type: str, text: str) -> str:
    """The server's own message: JSON:API ``errors``, ``{"error": ...}``, ``{"message": ...,
    "errors": [...]}`` (GitHub), plain text; an HTML page is named, not shown."""
    try:
        body = json.loads(text) if text else None
    except (ValueError, RecursionError):  # a body nested 200,000 deep is just unreadable
        body = None
    if isinstance(body, dict):
        found = _json_message(body)
        if found:
            return one_line(found)
    if not text:
        return ""
    if "html" in content_type or text.startswith("<"):
        return "an HTML page, not an API answer (a proxy, or the wrong API URL?)"
    line = one_line(text)
    phrase = status_text(status).partition(" ")[2]
    return line.removeprefix(f"{phrase}: ") if phrase else line


def _github_error(item: object) -> str:
    """One of GitHub's ``errors``: its message, else where and what (``Issue.title:
    missing_field``), which is all a validation error of a request may carry."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return ""
    message = item.get("message")
    if isinstance(message, str) and message:
        return message
    where = ".".join(str(item[k]) for k in ("resource", "field") if item.get(k))
    code = str(item.get("code") or "")
    return f"{where}: {code}" if where and code else where or code


def _json_message(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    message = body.get("message")
    if isinstance(message, str) and message:  # GitHub: its errors say what is wrong
        items = errors if isinstance(errors, list) else []
        extra = "; ".join(t for t in (_github_error(e) for e in items) if t)
        return f"{message}: {extra}" if extra else message
    if isinstance(errors, list) and errors:  # JSON:API, with the pointer of each
        parts = []
        for item in errors:
            if not isinstance(item, dict):
                parts.append(str(item))
                continue
            text = str(item.get("detail") or item.get("title") or item.get("code") or "")
            source = item.get("source")
            where = ""
            if isinstance(source, dict):
                where = str(source.get("pointer") or source.get("parameter") or "")
            parts.append(f"{where}: {text}" if where else text)
        return "; ".join(p for p in parts if p)
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or json.dumps(error)
    if error:
        code = body.get("error_code")
        return f"{error} ({code})" if code else str(error)
    for key in ("detail", "title"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    return ""


# --- no answer: what the exception chain says ----------------------------------------------


def classify(exc: BaseException, settings: TransportSettings, url: str) -> tuple[str, str, bool]:
    """(detail, hint, maybe_processed) of a request to ``url`` that got no answer."""
    chain = list(causes(exc))
    host, address = _address(url)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(e, types) for e in chain)

    if has(ProxyError, requests.exceptions.ProxyError):
        detail = f"proxy error: {_os_reason(chain) or 'failed'}"
        return detail, "check HTTPS_PROXY and NO_PROXY", not has(ConnectTimeoutError)
    if has(NameResolutionError):
        return f"cannot resolve {host}", "", False
    if has(NewConnectionError):
        reason = _os_reason(chain) or "connection failed"
        return f"cannot connect to {address}: {reason}", "", False
    if has(ConnectTimeoutError, requests.ConnectTimeout):
        s = settings.connect_timeout
        return f"timed out: no connection to {address} within {s:g} s (connect timeout)", "", False
    if has(ReadTimeoutError, requests.ReadTimeout):
        return f"timed out: no answer within {settings.read_timeout:g} s (read timeout)", "", True
    if has(ssl.SSLError, requests.exceptions.SSLError):
        # the CA bundle helps only when the certificate is what failed (not a plain-http port)
        unverified = has(ssl.SSLCertVerificationError)
        hint = "for a private CA, point REQUESTS_CA_BUNDLE at its certificate" if unverified else ""
        return f"TLS error: {_tls_reason(chain)}", hint, True
    if has(RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        return "the connection closed before an answer came", "", True
    return f"no answer ({type(chain[-1]).__name__})", "", True


def _address(url: str) -> tuple[str, str]:
    """(host, host:port) of ``url``, the port given or the scheme's: never its user or password."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port out of range: the request failed before a connection
        return "", "the server"
    port = port or (443 if parts.scheme == "https" else 80)
    shown = f"[{host}]" if ":" in host else host
    return host, f"{shown}:{port}"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then everything it wraps (args, urllib3 reasons, causes), each once."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            inner.append(reason)
        inner += [e for e in (current.__cause__, current.__context__) if e is not None]
        stack.extend(inner)


def _os_reason(chain: list[BaseException]) -> str:
    """The operating system's words (``connection refused``), else the innermost OSError's."""
    for e in reversed(chain):
        if isinstance(e, OSError) and e.strerror:
            return e.strerror.lower()
    inner = [e for e in chain if type(e) is OSError and e.args and isinstance(e.args[0], str)]
    return one_line(str(inner[-1].args[0])) if inner else ""


def _tls_reason(chain: list[BaseException]) -> str:
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError) and e.verify_message:
            return f"certificate verify failed: {e.verify_message}"
        if isinstance(e, ssl.SSLError) and e.reason:
            return str(e.reason).lower().replace("_", " ")
    return "handshake failed"
