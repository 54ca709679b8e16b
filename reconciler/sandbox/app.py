"""The Flask app: routes, authentication, faults and quirks, status codes.

Every ``/v1`` request goes through ``_enter``: the token decides the org (401 for a bad token, 404
for a token of another org, exactly like an unknown org), then that org's faults may delay, fail or
later drop the request. Test-only routes live under ``/_sandbox`` and take no faults or quirks.

Given a ``ServiceNow`` (``servicenow.load``), the same app also serves a ServiceNow Table API under
``/api/now`` (see ``servicenow``), with faults of its own and errors in ServiceNow's shape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from reconciler.sandbox import servicenow as table_api
from reconciler.sandbox.csvparse import parse_csv
from reconciler.sandbox.faults import Behaviour, Controls, SpecError, parse_faults, parse_quirks
from reconciler.sandbox.jsonapi import (
    JSON_MEDIA_TYPES,
    ApiError,
    check_media_type,
    parse_document,
    render_error,
    resource,
)
from reconciler.sandbox.resources import KINDS, Kind, reorder
from reconciler.sandbox.store import Store, StoredObject

DEFAULT_MAX_BODY = 8 * 1024 * 1024
PAGE_SIZE = 2
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
CREATED_BY = "sandbox-service-account"
_EXTENSION = "reconciler.sandbox"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _State:
    store: Store
    controls: Controls
    max_body_bytes: int
    requests: Counter[str] = field(default_factory=Counter)  # per org: API requests received
    lock: threading.Lock = field(default_factory=threading.Lock)


def create_app(
    store: Store,
    *,
    controls: Controls | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    servicenow: table_api.ServiceNow | None = None,
) -> Flask:
    """The sandbox app; with ``servicenow``, it serves that Table API too (the server's faults
    apply to it as well, with their own script and random sequence)."""
    app = Flask(__name__)
    # one byte more than allowed: a streamed (chunked) body is cut there, so _body can tell a
    # body of exactly the limit from a longer one
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes + 1
    state = _State(store, controls if controls is not None else Controls(), max_body_bytes)
    app.extensions[_EXTENSION] = state
    app.before_request(_before)
    app.after_request(_drop_if_asked)
    app.teardown_request(_release)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)

    base = "/v1/orgs/<org>"
    # the kinds served are those registered when the app is made (resources.KINDS)
    collection = f"<any({', '.join(repr(name) for name in KINDS)}):collection>"
    app.add_url_rule(f"{base}/{collection}", view_func=_list, methods=["GET"])
    app.add_url_rule(f"{base}/{collection}", view_func=_create, methods=["POST"])
    item = f"{base}/{collection}/<object_id>"
    app.add_url_rule(item, view_func=_get, methods=["GET"])
    app.add_url_rule(item, view_func=_patch, methods=["PATCH"])
    app.add_url_rule(item, view_func=_delete, methods=["DELETE"])
    app.add_url_rule(f"{base}/custom-properties", view_func=_upload, methods=["POST"])

    test = "/_sandbox/orgs/<org>"
    app.add_url_rule("/_sandbox/health", view_func=_health, methods=["GET"])
    app.add_url_rule(f"{test}/custom-properties", view_func=_read_properties, methods=["GET"])
    app.add_url_rule(f"{test}/stats", view_func=_stats, methods=["GET"])
    app.add_url_rule(f"{test}/behaviour", view_func=_behaviour, methods=["GET", "PUT", "DELETE"])
    if servicenow is not None:
        table_api.register(app, servicenow, faults=state.controls.server.faults)
    return app


def _state() -> _State:
    state: _State = current_app.extensions[_EXTENSION]
    return state


# request life cycle


def _before() -> None:
    g.quirks = _state().controls.server.quirks if request.path.startswith("/v1/") else frozenset()
    g.drop = False


def _release(_error: BaseException | None) -> None:
    _state().store.release()


def _drop_if_asked(response: Response) -> Response:
    """The drop fault: the request succeeded (a write is committed); close without an answer."""
    sock = request.environ.get("werkzeug.socket")
    if g.get("drop") and 200 <= response.status_code < 300 and isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return response


def _enter(org: str) -> Behaviour:
    """Authenticate, then apply the org's faults. Returns the behaviour in force."""
    state = _state()
    with state.lock:
        state.requests[org] += 1
    try:
        _authenticate(state.store, org)
    except ApiError:
        time.sleep(state.controls.server.faults.latency_ms / 1000)
        raise
    behaviour = state.controls.for_org(org)
    g.quirks = behaviour.quirks
    listing = request.path if request.endpoint == _list.__name__ else ""  # what gather= holds
    decision = behaviour.state.decide(is_write=request.method in WRITE_METHODS, listing=listing)
    if decision.latency_s:
        time.sleep(decision.latency_s)  # no transaction is open here
    if decision.status == 429:
        raise ApiError(429, "too many requests: retry after 1 second", headers={"Retry-After": "1"})
    if decision.status is not None:
        raise ApiError(decision.status, "injected fault: the request was not processed")
    g.drop = decision.drop
    return behaviour


def _authenticate(store: Store, org: str) -> None:
    # the CLI knows a sandbox's 401 by this (SANDBOX_CHALLENGE in reconciler/http/infracost.py)
    challenge = {"WWW-Authenticate": 'Bearer realm="sandbox"'}
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if not header:
        raise ApiError(401, "missing Authorization header: send Bearer <token>", headers=challenge)
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "the Authorization header must be Bearer <token>", headers=challenge)
    if not token.startswith("ics"):
        raise ApiError(401, "not a service-account token (these start with ics)", headers=challenge)
    owner = store.authenticate(token)
    if owner is None:
        raise ApiError(401, "invalid or revoked token", headers=challenge)
    if owner != org:  # never reveal whether another org exists
        raise ApiError(404, f"org {org!r} not found")


# responses


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload) + "\n", status, mimetype="application/json")


def _present(kind: Kind, obj: StoredObject, quirks: frozenset[str]) -> dict[str, Any]:
    attributes = kind.with_defaults(obj.attributes)
    if "missing_attribute" in quirks:
        del attributes["message"]
    if "server_fields" in quirks:
        attributes.update(createdAt=obj.created_at, updatedAt=obj.updated_at, createdBy=CREATED_BY)
    if "reorder" in quirks:
        reorder(kind, attributes)
    return resource(obj.id, kind.quirk_type if "other_type" in quirks else kind.type, attributes)


def _api_error(error: ApiError) -> Response:
    if table_api.serves(request.path):  # a 404, 405 or internal error on the ServiceNow side
        shaped = table_api.TableApiError(error.status, str(error), headers=error.headers)
        return table_api.error_response(shaped)
    body, mimetype = render_error(error, g.get("quirks", frozenset()))
    response = Response(body, error.status, content_type=mimetype)
    response.headers.update(error.headers)
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    detail = error.description or ""
    headers = {}
    if isinstance(error, RequestEntityTooLarge):
        limit = _state().max_body_bytes
        detail = f"the request body is larger than the limit of {limit} bytes"
    elif isinstance(error, MethodNotAllowed) and error.valid_methods:
        detail = f"method {request.method} not allowed here"
        headers["Allow"] = ", ".join(error.valid_methods)
    elif status == 404:
        detail = f"no route {request.path}"
    return _api_error(ApiError(status, detail, headers=headers))


def _internal_error(error: Exception) -> Response:
    _log.exception("sandbox bug while answering %s %s", request.method, request.path)
    return _api_error(ApiError(500, f"internal error: {type(error).__name__}"))


# request bodies


def _body() -> bytes:
    data = request.get_data(cache=False)
    if len(data) > _state().max_body_bytes:
        raise RequestEntityTooLarge()
    return data


def _document(kind: Kind) -> dict[str, Any]:
    check_media_type(request.mimetype, JSON_MEDIA_TYPES)
    data = parse_document(_body())
    if "type" in data and data["type"] != kind.type:
        raise ApiError(
            409,
            f"type {data['type']!r} does not match this endpoint ({kind.type})",
            pointer="/data/type",
        )
    return data


# /v1 routes


def _list(org: str, collection: str) -> Response:
    quirks = _enter(org).quirks
    kind = KINDS[collection]
    data = [_present(kind, obj, quirks) for obj in _state().store.list_objects(org, kind.type)]
    if "reorder" in quirks:
        data.reverse()
    if "paginate" not in quirks:
        return _json({"data": data})
    raw = request.args.get("page[number]", "1")
    number = int(raw) if raw.isdigit() else 0
    if number < 1:
        raise ApiError(400, "page[number] must be a whole number from 1", parameter="page[number]")
    start = (number - 1) * PAGE_SIZE
    more = start + PAGE_SIZE < len(data)
    next_url = f"{request.base_url}?{urlencode({'page[number]': number + 1})}" if more else None
    return _json({"data": data[start : start + PAGE_SIZE], "links": {"next": next_url}})


def _create(org: str, collection: str) -> Response:
    quirks = _enter(org).quirks
    kind = KINDS[collection]
    data = _document(kind)
    if "id" in data:
        raise ApiError(400, "ids are assigned by the server", pointer="/data/id")
    attributes = kind.create(data.get("attributes"))
    obj = _state().store.create_object(org, kind.type, attributes)
    response = _json({"data": _present(kind, obj, quirks)}, 200 if "create_200" in quirks else 201)
    response.headers["Location"] = f"{request.base_url}/{obj.id}"
    return response


def _get(org: str, collection: str, object_id: str) -> Response:
    quirks = _enter(org).quirks
    kind = KINDS[collection]
    obj = _state().store.get_object(org, kind.type, object_id)
    if obj is None:
        raise _not_found(kind, object_id)
    return _json({"data": _present(kind, obj, quirks)})


def _patch(org: str, collection: str, object_id: str) -> Response:
    quirks = _enter(org).quirks
    kind = KINDS[collection]
    data = _document(kind)
    if "id" in data and data["id"] != object_id:
        raise ApiError(409, "the id in the body does not match the URL", pointer="/data/id")
    attributes = data.get("attributes")
    obj = _state().store.update_object(
        org, kind.type, object_id, lambda current: kind.patch(current, attributes)
    )
    if obj is None:
        raise _not_found(kind, object_id)
    return _json({"data": _present(kind, obj, quirks)})


def _delete(org: str, collection: str, object_id: str) -> Response:
    _enter(org)
    kind = KINDS[collection]
    if not _state().store.delete_object(org, kind.type, object_id):
        raise _not_found(kind, object_id)
    return Response(status=204)


def _upload(org: str) -> Response:
    _enter(org)
    check_media_type(request.mimetype, ("text/csv",))
    rows = parse_csv(_body())
    _state().store.replace_custom_properties(org, rows)
    return Response(status=204)


def _not_found(kind: Kind, object_id: str) -> ApiError:
    return ApiError(404, f"no {kind.type} object with id {object_id!r}")


# test-only routes: no faults, no quirks


def _health() -> Response:
    return _json({"status": "ok"})


def _read_properties(org: str) -> Response:
    _authenticate(_state().store, org)
    rows = _state().store.custom_properties(org)
    return _json({"columns": rows[0] if rows else [], "rows": rows[1:]})


def _stats(org: str) -> Response:
    _authenticate(_state().store, org)
    state = _state()
    with state.lock:
        received = state.requests[org]
    return _json({"writes": state.store.write_count(org), "requests": received})


def _behaviour(org: str) -> Response:
    state = _state()
    _authenticate(state.store, org)
    if request.method == "DELETE":
        state.controls.reset_org(org)
        return Response(status=204)
    if request.method == "PUT":
        check_media_type(request.mimetype, JSON_MEDIA_TYPES)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, 'expected {"faults": "SPEC", "quirks": "NAME,..."}', pointer="")
        try:
            faults = parse_faults(str(body.get("faults") or ""))
            quirks = parse_quirks(body.get("quirks") or "")
        except SpecError as exc:
            raise ApiError(400, str(exc), pointer="") from None
        state.controls.set_org(org, Behaviour(faults, quirks))
    current = state.controls.for_org(org)
    return _json({"faults": current.faults.describe(), "quirks": sorted(current.quirks)})
