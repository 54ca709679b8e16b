"""The HTTP client of the Infracost Cloud API: auth, timeouts, retries, errors, pagination.

One ``requests.Session`` per client:

- Bearer auth through ``session.auth`` (so ``~/.netrc`` never replaces it and nothing prints the
  token); ``trust_env`` stays on, so ``HTTPS_PROXY``, ``NO_PROXY`` and ``REQUESTS_CA_BUNDLE`` work
  as in any requests program;
- a (connect, read) timeout on every request; redirects are refused, never followed;
- urllib3 ``Retry`` mounted on the session: GET, PATCH and DELETE are retried on 429, 500, 502,
  503, 504 and on connection errors, with exponential backoff, jitter and a capped ``Retry-After``.
  A POST is resent only when the server provably did not process it (the connection could not be
  opened, or 429); otherwise an unanswered POST is resolved by re-listing (``create``);
- errors are ``ApiError``: method, path, status and the API's own message, never the token.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from http.client import RemoteDisconnected
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    NameResolutionError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from reconciler import __version__
from reconciler.errors import ConfigError
from reconciler.http.transport import BearerAuth, HttpError, is_success, origin, status_text
from reconciler.kinds.base import ObjectKind as Kind
from reconciler.model import LiveObject
from reconciler.settings import ENV_TOKEN, SANDBOX, Secret, check_api_url

_log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "PATCH", "DELETE"})
_MAX_DETAIL = 500  # characters of an error body shown in a message


@dataclass(frozen=True)
class ClientSettings:
    """Timeouts (seconds), retries and caps: defaults for real use; tests scale them down."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 5  # retries after the first attempt
    backoff_factor: float = 0.5  # sleeps 0, 2f, 4f, 8f... between retries
    backoff_max: float = 30.0
    backoff_jitter: float = 0.5  # up to this much added to each backoff, at random
    retry_after_max: float = 60.0  # a longer Retry-After is cut to this
    max_pages: int = 1000  # links.next pages followed per list

    def __post_init__(self) -> None:
        numbers = (
            self.connect_timeout,
            self.read_timeout,
            self.backoff_factor,
            self.backoff_max,
            self.backoff_jitter,
            self.retry_after_max,
        )
        if min(numbers) < 0 or self.retries < 0 or self.max_pages < 1:
            raise ValueError(f"invalid client settings: {self}")


# --- errors ------------------------------------------------------------------------------


class ApiError(HttpError):
    """A request to the Infracost API that failed."""


class NoAnswer(ApiError):
    """No answer came: the connection failed or dropped, or the request timed out.

    ``maybe_processed`` is False only when the server provably never saw the request (the
    connection could not be opened).
    """

    def __init__(
        self, method: str, path: str, detail: str, *, maybe_processed: bool, hint: str = ""
    ) -> None:
        super().__init__(method, path, None, detail, hint=hint)
        self.maybe_processed = maybe_processed


class OutcomeUnknown(ApiError):
    """A POST whose outcome is unknown and could not be resolved by re-listing.

    ``candidates`` holds the ids of the new objects that matched when there were several.
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int | None,
        detail: str,
        *,
        candidates: tuple[str, ...] = (),
    ) -> None:
        super().__init__(method, path, status, detail)
        self.candidates = candidates


@dataclass(frozen=True)
class Created(LiveObject):
    """The object a create made. ``adopted``: the POST's answer was lost and the object was found
    by re-listing (a new id whose attributes match what was sent)."""

    adopted: bool = False


# --- the session's parts -----------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.value += 1


class _Retry(Retry):
    """urllib3's Retry with a capped Retry-After, a request counter, and POST kept safe.

    POST is not in ``allowed_methods``, so a 5xx or a read error is never retried; on top of
    that, errors of the "other" class (TLS errors mid-answer) are not retried for POST either.
    Two cases are retried for every method because the server provably did not process the
    request: the connection could not be opened, and 429 Too Many Requests.
    """

    def __init__(
        self, *args: Any, counter: _Counter | None = None, after_cap: float = 60.0, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.counter = counter if counter is not None else _Counter()
        self.after_cap = after_cap

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.counter = self.counter
        retry.after_cap = self.after_cap
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            seconds = super().parse_retry_after(retry_after)
        except InvalidHeader:
            return 0.0  # unusable: the exponential backoff applies instead
        return min(seconds, self.after_cap)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429:
            return True  # refused before processing, whatever the method
        return super().is_retry(method, status_code, has_retry_after)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if (
            error is not None
            and method is not None
            and not self._is_method_retryable(method)
            and not self._is_connection_error(error)
        ):
            raise error.with_traceback(_stacktrace)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        self.counter.add()  # another attempt follows
        return retry


# --- the client --------------------------------------------------------------------------


class ApiClient:
    """The Infracost Cloud API of one org. A few threads may share one client (apply does)."""

    def __init__(
        self,
        base_url: str,
        org: str,
        token: Secret | None,
        settings: ClientSettings | None = None,
    ) -> None:
        base_url = base_url.strip().rstrip("/")
        if base_url.lower() == SANDBOX:
            raise ConfigError("the embedded sandbox must be started before a client can use it")
        check_api_url(base_url, "the client's base URL")
        if not org:
            raise ConfigError("no org: set --org, INFRACOST_ORG or org: in reconciler.yaml", "org")
        self.base_url = base_url
        self.org = org
        self.settings = settings if settings is not None else ClientSettings()
        self._token = token
        self._org_url = f"{base_url}/orgs/{quote(org, safe='')}"
        self._counter = _Counter()
        s = self.settings
        retry = _Retry(
            total=s.retries,
            connect=None,
            read=None,
            status=None,
            redirect=0,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=s.backoff_factor,
            backoff_max=s.backoff_max,
            backoff_jitter=s.backoff_jitter,
            raise_on_status=False,  # the last answer comes back, with the API's message
            respect_retry_after_header=True,
            counter=self._counter,
            after_cap=s.retry_after_max,
        )
        session = requests.Session()  # trust_env stays True: proxies and CA bundles as usual
        session.auth = BearerAuth(token)
        session.headers["Accept"] = "application/vnd.api+json, application/json"
        session.headers["User-Agent"] = f"reconciler/{__version__}"
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, org={self.org!r})"

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._counter.value

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---

    def list(self, kind: Kind) -> list[LiveObject]:
        """Every object of a kind: one request, plus one per ``links.next`` page."""
        url = self._collection_url(kind)
        seen = {url}
        objects: dict[str, LiveObject] = {}
        for page in range(1, self.settings.max_pages + 1):
            response = self._send("GET", url)
            if not is_success(response):
                raise self._failure("GET", url, response, org_level=True)
            body = self._json("GET", url, response)
            data = body.get("data")
            if not isinstance(data, list):
                raise self._malformed("GET", url, response, "data is not a list")
            for item in data:
                obj = self._live_object("GET", url, response, item)
                objects.setdefault(obj.id, obj)  # a page boundary that moved: keep the first
            link = _next_link(body)
            if not link:
                return list(objects.values())
            next_url = urljoin(url, link)
            if not _same_origin(next_url, self.base_url):
                raise self._malformed("GET", url, response, "links.next points to another host")
            if next_url in seen:
                raise self._malformed("GET", url, response, "links.next loops to a page seen")
            if page == self.settings.max_pages:
                break
            seen.add(next_url)
            url = next_url
        raise ApiError(
            "GET",
            _path(self._collection_url(kind)),
            None,
            f"more than {self.settings.max_pages} pages of links.next; stopped",
        )

    def get(self, kind: Kind, object_id: str) -> LiveObject | None:
        """One object, or None if the API answers 404."""
        url = self._object_url(kind, object_id)
        response = self._send("GET", url)
        if response.status_code == 404:
            return None
        if not is_success(response):
            raise self._failure("GET", url, response)
        return self._object("GET", url, response)

    # --- writing ---

    def create(
        self,
        kind: Kind,
        attributes: Mapping[str, Any],
        *,
        known_ids: Collection[str] | None = None,
        same: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> Created:
        """POST one object; never resent blindly.

        When the outcome is unknown (no answer after the request was sent, a 5xx, an unreadable
        2xx), the kind is listed again and the one object is adopted whose id is not in
        ``known_ids`` (the ids listed before the POST) and whose live attributes satisfy
        ``same`` (default: every sent attribute equal as returned; callers pass a normalized
        comparison). Zero or several such objects, or no ``known_ids``: ``OutcomeUnknown``.
        """
        url = self._collection_url(kind)
        document = {"data": {"type": kind.jsonapi_type, "attributes": dict(attributes)}}
        try:
            response = self._send("POST", url, json=document)
        except NoAnswer as exc:
            if not exc.maybe_processed:
                raise
            return self._adopt(kind, attributes, known_ids, same, exc)
        if is_success(response):
            try:
                obj = self._object("POST", url, response)
            except ApiError as exc:
                return self._adopt(kind, attributes, known_ids, same, exc)
            return Created(obj.id, obj.attributes)
        error = self._failure("POST", url, response, org_level=True)
        if response.status_code >= 500:
            return self._adopt(kind, attributes, known_ids, same, error)
        raise error

    def update(self, kind: Kind, object_id: str, attributes: Mapping[str, Any]) -> LiveObject:
        """PATCH only the given attributes; returns the object as the API answers it."""
        url = self._object_url(kind, object_id)
        document = {
            "data": {"id": object_id, "type": kind.jsonapi_type, "attributes": dict(attributes)}
        }
        response = self._send("PATCH", url, json=document)
        if not is_success(response):
            hint = "the object no longer exists" if response.status_code == 404 else ""
            raise self._failure("PATCH", url, response, hint=hint)
        if not response.content.strip():  # 204: read it back
            obj = self.get(kind, object_id)
            if obj is None:
                raise ApiError("PATCH", _path(url), response.status_code, "gone after the update")
            return obj
        return self._object("PATCH", url, response)

    def delete(self, kind: Kind, object_id: str) -> bool:
        """DELETE one object: True if deleted, False if it was already gone (404)."""
        url = self._object_url(kind, object_id)
        response = self._send("DELETE", url)
        if response.status_code == 404:
            return False
        if not is_success(response):
            raise self._failure("DELETE", url, response)
        return True

    def upload_custom_properties(self, csv: bytes) -> None:
        """POST the custom-properties CSV (it replaces the org's table); never resent blindly."""
        url = f"{self._org_url}/custom-properties"
        unknown = (
            "the upload may or may not have been applied, and the API cannot read it back; "
            "uploading the same file again is safe"
        )
        headers = {"Content-Type": "text/csv"}
        try:
            response = self._send("POST", url, data=csv, headers=headers)
        except NoAnswer as exc:
            if not exc.maybe_processed:
                raise
            raise OutcomeUnknown("POST", exc.path, None, f"{exc.detail}; {unknown}") from exc
        if is_success(response):
            return
        error = self._failure("POST", url, response, org_level=True)
        if response.status_code >= 500:
            raise OutcomeUnknown("POST", error.path, error.status, f"{error.detail}; {unknown}")
        raise error

    # --- internals ---

    def _collection_url(self, kind: Kind) -> str:
        return f"{self._org_url}/{kind.api_path}"

    def _object_url(self, kind: Kind, object_id: str) -> str:
        if not object_id:
            raise ValueError("an object id is required")
        return f"{self._collection_url(kind)}/{quote(object_id, safe='')}"

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self._counter.add()
        s = self.settings
        try:
            response = self._session.request(
                method,
                url,
                timeout=(s.connect_timeout, s.read_timeout),
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise self._no_answer(method, url, exc) from exc
        _log.debug("%s %s -> %s", method, _path(url), response.status_code)
        return response

    def _no_answer(self, method: str, url: str, exc: requests.RequestException) -> NoAnswer:
        s = self.settings
        chain = list(_causes(exc))
        path = _path(url)

        def has(*types: type[BaseException]) -> bool:
            return any(isinstance(e, types) for e in chain)

        if has(ProxyError, requests.exceptions.ProxyError):
            reason = _os_reason(chain) or "failed"
            hint = "check HTTPS_PROXY and NO_PROXY"
            return NoAnswer(
                method,
                path,
                f"proxy error: {reason}",
                maybe_processed=not has(ConnectTimeoutError),
                hint=hint,
            )
        if has(NameResolutionError):
            host = urlsplit(url).hostname
            return NoAnswer(method, path, f"cannot resolve {host}", maybe_processed=False)
        if has(NewConnectionError):
            reason = _os_reason(chain) or "connection failed"
            return NoAnswer(method, path, f"cannot connect: {reason}", maybe_processed=False)
        if has(ConnectTimeoutError, requests.ConnectTimeout):
            detail = f"timed out: no connection within {s.connect_timeout:g} s (connect timeout)"
            return NoAnswer(method, path, detail, maybe_processed=False)
        if has(ReadTimeoutError, requests.ReadTimeout):
            detail = f"timed out: no answer within {s.read_timeout:g} s (read timeout)"
            return NoAnswer(method, path, detail, maybe_processed=True)
        if has(ssl.SSLError, requests.exceptions.SSLError):
            hint = "for a private CA, point REQUESTS_CA_BUNDLE at its certificate"
            detail = f"TLS error: {_tls_reason(chain)}"
            return NoAnswer(method, path, detail, maybe_processed=True, hint=hint)
        if has(RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            detail = "the connection closed before an answer came"
            return NoAnswer(method, path, detail, maybe_processed=True)
        detail = f"no answer ({type(chain[-1]).__name__})"
        return NoAnswer(method, path, detail, maybe_processed=True)

    def _failure(
        self,
        method: str,
        url: str,
        response: requests.Response,
        *,
        org_level: bool = False,
        hint: str = "",
    ) -> ApiError:
        """The ApiError for a non-2xx answer, with the API's own message and a hint."""
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("Location", "nowhere")
            detail = f"redirect to {location} refused"
            hint = "set the API URL to its final address, e.g. https://api.infracost.io/v1"
        else:
            detail = _error_detail(response)
        if status == 401:
            hint = (
                f"no token: set {ENV_TOKEN}"
                if self._token is None
                else f"the token is wrong or not a service-account token: set {ENV_TOKEN} to a "
                "token from Org Settings > API tokens; the CLI's token does not work"
            )
        elif status == 403:
            hint = f"the token may not have access to org {self.org!r}"
        elif status == 404 and org_level:
            hint = f"check the org slug {self.org!r}: unknown, or the token is of another org"
        return ApiError(method, _path(url), status, self._redact(detail), hint=hint)

    def _malformed(self, method: str, url: str, response: requests.Response, why: str) -> ApiError:
        return ApiError(method, _path(url), response.status_code, f"malformed answer: {why}")

    def _json(self, method: str, url: str, response: requests.Response) -> dict[str, Any]:
        ctype = response.headers.get("Content-Type", "none").split(";")[0].strip() or "none"
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            why = f"not JSON (Content-Type {ctype}); is the API URL right?"
            raise self._malformed(method, url, response, why) from None
        if not isinstance(body, dict):
            raise self._malformed(method, url, response, "not a JSON object")
        return body

    def _object(self, method: str, url: str, response: requests.Response) -> LiveObject:
        body = self._json(method, url, response)
        return self._live_object(method, url, response, body.get("data"))

    def _live_object(
        self, method: str, url: str, response: requests.Response, item: Any
    ) -> LiveObject:
        """One resource object; its ``type`` is ignored, its attributes are kept as given."""
        if not isinstance(item, dict):
            raise self._malformed(method, url, response, "a resource is not an object")
        object_id = item.get("id")
        if not isinstance(object_id, str) or not object_id:
            raise self._malformed(method, url, response, "a resource has no id")
        attributes = item.get("attributes")
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, dict):
            raise self._malformed(method, url, response, f"attributes of {object_id} not an object")
        return LiveObject(object_id, attributes)

    def _adopt(
        self,
        kind: Kind,
        attributes: Mapping[str, Any],
        known_ids: Collection[str] | None,
        same: Callable[[Mapping[str, Any]], bool] | None,
        cause: ApiError,
    ) -> Created:
        """Resolve a POST with an unknown outcome by re-listing (design.md section 5)."""
        path, status = cause.path, cause.status
        detail = cause.detail

        def unknown(why: str, candidates: tuple[str, ...] = ()) -> OutcomeUnknown:
            message = f"{detail}; outcome unknown: {why}"
            return OutcomeUnknown("POST", path, status, message, candidates=candidates)

        if known_ids is None:
            raise unknown("the object may or may not have been created; run plan to see")
        try:
            live = self.list(kind)
        except ApiError as exc:
            raise unknown(f"listing to check failed too ({exc})") from exc
        known = {i.lower() for i in known_ids}
        matches = _sent_equal(attributes) if same is None else same
        found = [o for o in live if o.id.lower() not in known and matches(o.attributes)]
        if len(found) == 1:
            _log.info("POST %s: answer lost; adopted the new object %s", path, found[0].id)
            return Created(found[0].id, found[0].attributes, adopted=True)
        if not found:
            raise unknown("no new object matches what was sent, so it was probably not created")
        ids = tuple(o.id for o in found)
        raise unknown(
            f"{len(ids)} new objects match what was sent ({', '.join(ids)}); "
            "cannot tell which one this create made",
            ids,
        )

    def _redact(self, text: str) -> str:
        if self._token is not None and self._token.reveal():
            return text.replace(self._token.reveal(), "***")
        return text


# --- helpers -----------------------------------------------------------------------------


def _path(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path + (f"?{parts.query}" if parts.query else ""))


def _same_origin(url: str, base: str) -> bool:
    return origin(url) == origin(base)


def _next_link(body: Mapping[str, Any]) -> str | None:
    links = body.get("links")
    if not isinstance(links, dict):
        return None
    link = links.get("next")
    if isinstance(link, dict):  # a JSON:API link object
        link = link.get("href")
    return link if isinstance(link, str) and link.strip() else None


def _sent_equal(sent: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    def same(live: Mapping[str, Any]) -> bool:
        return all(key in live and live[key] == value for key, value in sent.items())

    return same


def _causes(exc: BaseException) -> Iterator[BaseException]:
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
    return _one_line(str(inner[-1].args[0])) if inner else ""


def _tls_reason(chain: list[BaseException]) -> str:
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError) and e.verify_message:
            return f"certificate verify failed: {e.verify_message}"
        if isinstance(e, ssl.SSLError) and e.reason:
            return str(e.reason).lower().replace("_", " ")
    return "handshake failed"


def _error_detail(response: requests.Response) -> str:
    """The API's own message: JSON:API errors, {"error": ...}, {"message": ...} or plain text."""
    text = response.content[:65536].decode("utf-8", "replace").strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        found = _json_error(body)
        if found:
            return _one_line(found)
    if not text:
        return ""
    ctype = response.headers.get("Content-Type", "")
    if "html" in ctype or text.startswith("<"):
        return "an HTML page, not an API answer (a proxy, or the wrong API URL?)"
    line = _one_line(text)
    phrase = status_text(response.status_code).partition(" ")[2]
    return line.removeprefix(f"{phrase}: ") if phrase else line


def _json_error(body: Mapping[str, Any]) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
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
    for key in ("message", "detail", "title"):
        if isinstance(body.get(key), str) and body[key]:
            return str(body[key])
    return ""


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_DETAIL else line[: _MAX_DETAIL - 1] + "…"
