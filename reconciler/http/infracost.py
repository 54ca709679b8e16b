"""The client of the Infracost Cloud API: JSON:API documents, creates never resent blindly.

It is built on the one transport (``reconciler.http.transport``): session, bearer auth,
timeouts, retries (GET, PATCH and DELETE on 429 and 5xx and lost connections, with backoff and a
capped ``Retry-After``; a POST only when the server provably did not process it: the
connection could not be opened, or 429), pagination, no-answer errors and the scrubbing of the
token from every message. What is Infracost's stays here:

- JSON:API documents in and out; ``links.next`` pages;
- a POST whose answer is lost, or is a 5xx, is resolved by listing again (``create``);
- errors are ``ApiError``: method, path, status and the API's own message, with a hint for 401,
  403 and a 404 on the org; never the token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from reconciler.errors import ConfigError
from reconciler.http import transport
from reconciler.http.transport import (
    BearerAuth,
    Client,
    HttpError,
    Transport,
    TransportSettings,
    is_success,
    path_of,
)
from reconciler.kinds.base import ObjectKind as Kind
from reconciler.model import LiveObject
from reconciler.normalize import MAX_DEPTH, nested_deeper_than
from reconciler.settings import ENV_TOKEN, SANDBOX, Secret, check_api_url

_log = logging.getLogger(__name__)

# How the sandbox (reconciler/sandbox/app.py) challenges a request it does not authenticate:
# a 401 with it comes from a sandbox, whose tokens are made by `reconciler sandbox token`.
SANDBOX_CHALLENGE = f'Bearer realm="{SANDBOX}"'


@dataclass(frozen=True)
class ClientSettings(TransportSettings):
    """Timeouts (seconds), retries and caps: the transport's defaults, made for this API."""


# --- errors ------------------------------------------------------------------------------


class ApiError(HttpError):
    """A request to the Infracost API that failed."""


class NoAnswer(ApiError, transport.NoAnswer):
    """No answer came from the Infracost API (``maybe_processed``: see the transport's)."""


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


# --- the client --------------------------------------------------------------------------


def _origin_hint(origin: str) -> str:
    if not origin:
        return ""
    return "the default API URL" if origin == "default" else f"API URL from {origin}"


class ApiClient(Client):
    """The Infracost Cloud API of one org. A few threads may share one client (apply does)."""

    def __init__(
        self,
        base_url: str,
        org: str,
        token: Secret | None,
        settings: ClientSettings | None = None,
        *,
        origin: str = "",
    ) -> None:
        """``origin``: where the URL was set (``--api``, ``reconciler.yaml``), said when no
        connection to it could be opened."""
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
        self.transport = Transport(
            base_url,
            self.settings,
            BearerAuth(token),
            what="the client's base URL",
            origin=_origin_hint(origin),
            headers={"Accept": "application/vnd.api+json, application/json"},
            error=ApiError,
            no_answer=NoAnswer,
        )

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, org={self.org!r})"

    # --- reading ---

    def list(self, kind: Kind) -> list[LiveObject]:
        """Every object of a kind: one request, plus one per ``links.next`` page."""
        objects: dict[str, LiveObject] = {}
        for obj in self.transport.pages(self._collection_url(kind), self._page, label="links.next"):
            objects.setdefault(obj.id, obj)  # a page boundary that moved: keep the first
        return list(objects.values())

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
                raise ApiError("PATCH", path_of(url), response.status_code, "gone after the update")
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
        return self.transport.send(method, url, **kwargs)

    def _page(self, url: str) -> tuple[Sequence[LiveObject], str | None]:
        response = self._send("GET", url)
        if not is_success(response):
            raise self._failure("GET", url, response, org_level=True)
        body = self._json("GET", url, response)
        data = body.get("data")
        if not isinstance(data, list):
            raise self._malformed("GET", url, response, "data is not a list")
        return [self._live_object("GET", url, response, item) for item in data], _next_link(body)

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
            location = self.transport.scrub(response.headers.get("Location", "nowhere"))
            detail = f"redirect to {location} refused"
            hint = "set the API URL to its final address, e.g. https://api.infracost.io/v1"
        else:
            detail = self.transport.describe(response)
        if status == 401:
            if self._token is None:
                hint = f"no token: set {ENV_TOKEN}"
            elif response.headers.get("WWW-Authenticate") == SANDBOX_CHALLENGE:
                hint = (
                    f"this sandbox does not know the token: set {ENV_TOKEN} to one made by "
                    f"reconciler sandbox token --org {self.org} in the directory where sandbox "
                    "serve runs, or with its --db"
                )
            else:
                hint = (
                    f"the token is wrong or not a service-account token: set {ENV_TOKEN} to a "
                    "token from Org Settings > API tokens; the CLI's token does not work"
                )
        elif status == 403:
            hint = f"the token may not have access to org {self.org!r}"
        elif status == 404 and org_level:
            hint = f"check the org slug {self.org!r}: unknown, or the token is of another org"
        return ApiError(method, self.transport.path(url), status, detail, hint=hint)

    def _malformed(self, method: str, url: str, response: requests.Response, why: str) -> ApiError:
        path = self.transport.path(url)
        return ApiError(method, path, response.status_code, f"malformed answer: {why}")

    def _json(self, method: str, url: str, response: requests.Response) -> dict[str, Any]:
        """The answer's JSON object; nesting deeper than ``MAX_DEPTH`` is a malformed answer
        (never a RecursionError later), and so are NaN and Infinity, which JSON does not have."""
        ctype = response.headers.get("Content-Type", "none").split(";")[0].strip() or "none"
        try:
            body = json.loads(response.content, parse_constant=_not_json)
        except _NotJson as exc:
            raise self._malformed(method, url, response, str(exc)) from None
        except (ValueError, UnicodeDecodeError):
            why = f"not JSON (Content-Type {ctype}); is the API URL right?"
            raise self._malformed(method, url, response, why) from None
        except RecursionError:
            raise self._malformed(method, url, response, _TOO_DEEP) from None
        if not isinstance(body, dict):
            raise self._malformed(method, url, response, "not a JSON object")
        if nested_deeper_than(body, MAX_DEPTH):
            raise self._malformed(method, url, response, _TOO_DEEP)
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


# --- helpers -----------------------------------------------------------------------------

_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


class _NotJson(ValueError):
    """A constant Python's parser accepts and JSON does not have."""


def _not_json(constant: str) -> Any:
    raise _NotJson(f"{constant} is not a JSON value")


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
