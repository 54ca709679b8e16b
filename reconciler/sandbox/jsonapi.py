"""JSON:API in and out: request documents, resource objects, and errors in the three shapes.

Errors are JSON:API ``{"errors": [{"status", "title", "detail", "source": {"pointer"}}]}``; the
``error_object`` and ``error_text`` quirks turn them into ``{"error", "error_code"}`` or plain text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

JSON_MEDIA_TYPES = frozenset({"application/json", "application/vnd.api+json"})
MAX_DEPTH = 32
MAX_STRING = 10_000

_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass(frozen=True)
class ErrorItem:
    status: int
    detail: str
    pointer: str | None = None
    parameter: str | None = None

    @property
    def title(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"


class ApiError(Exception):
    """An answer other than success: one or more error items, all with one status."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        items: list[ErrorItem] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.items = items or [ErrorItem(status, detail, pointer, parameter)]
        self.headers = dict(headers or {})
        super().__init__("; ".join(item.detail for item in self.items))


def render_error(error: ApiError, quirks: Collection[str]) -> tuple[str, str]:
    """The error body and its media type, in the shape the quirks ask for."""
    flat = "; ".join(
        f"{item.pointer}: {item.detail}" if item.pointer else item.detail for item in error.items
    )
    if "error_text" in quirks:
        return f"{error.items[0].title}: {flat}\n", "text/plain; charset=utf-8"
    if "error_object" in quirks:
        code = _ERROR_CODES.get(error.status, "error")
        return json.dumps({"error": flat, "error_code": code}) + "\n", "application/json"
    items = []
    for item in error.items:
        body: dict[str, Any] = {"status": str(item.status), "title": item.title}
        if item.detail:
            body["detail"] = item.detail
        if item.pointer is not None:
            body["source"] = {"pointer": item.pointer}
        elif item.parameter is not None:
            body["source"] = {"parameter": item.parameter}
        items.append(body)
    return json.dumps({"errors": items}) + "\n", "application/json"


def check_media_type(mimetype: str, accepted: Collection[str]) -> None:
    """415 unless the request's media type (parameters stripped) is one of ``accepted``."""
    if mimetype not in accepted:
        shown = mimetype or "none"
        raise ApiError(415, f"Content-Type {shown} is not accepted; use {' or '.join(accepted)}")


def parse_document(body: bytes) -> dict[str, Any]:
    """The request's JSON document: an object with a ``data`` object, within the size caps."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8", pointer="") from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, f"JSON nested deeper than {MAX_DEPTH} levels", pointer="") from None
    except ValueError as exc:
        raise ApiError(400, f"malformed JSON: {exc}", pointer="") from None
    _check_caps(document)
    if not isinstance(document, dict):
        raise ApiError(400, "the body must be a JSON object", pointer="")
    unknown = sorted(set(document) - {"data", "meta", "jsonapi"})
    if unknown:
        raise ApiError(400, f"unknown top-level member {unknown[0]!r}", pointer=f"/{unknown[0]}")
    data = document.get("data")
    if not isinstance(data, dict):
        raise ApiError(400, "data must be a resource object", pointer="/data")
    unknown = sorted(set(data) - {"type", "id", "attributes", "meta"})
    if unknown:
        raise ApiError(400, f"unknown member {unknown[0]!r}", pointer=f"/data/{unknown[0]}")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _check_caps(document: Any) -> None:
    """Nesting depth and string lengths, checked without recursion."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ApiError(400, f"JSON nested deeper than {MAX_DEPTH} levels", pointer=pointer)
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise ApiError(400, f"longer than {MAX_STRING} characters", pointer=pointer)
        if isinstance(value, float) and not math.isfinite(value):
            raise ApiError(400, "number out of range", pointer=pointer)
        if isinstance(value, dict):
            for key, item in value.items():
                if len(key) > MAX_STRING:
                    raise ApiError(400, f"key longer than {MAX_STRING} characters", pointer=pointer)
                stack.append((item, f"{pointer}/{_escape(key)}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{pointer}/{i}", depth + 1) for i, item in enumerate(value))


def _escape(key: str) -> str:
    """A JSON Pointer reference token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def pointer(*parts: str | int) -> str:
    return "".join(f"/{_escape(str(part))}" for part in parts)


def resource(object_id: str, type_: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": object_id, "type": type_, "attributes": dict(attributes)}
