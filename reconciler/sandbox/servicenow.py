"""The ServiceNow side of the sandbox: a read-only Table API over tables loaded from CSV fixtures.

``load`` reads the tables (header row = field names, every value a string, a deterministic
``sys_id`` added when the CSV has none) and the credentials into a frozen ``ServiceNow``;
``register`` adds its routes to the sandbox's Flask app (``app.create_app(..., servicenow=...)``):

- ``GET /api/now/table/<table>`` and ``GET /api/now/v2/table/<table>``: ``{"result": [...]}`` with
  ``X-Total-Count`` and a ``Link`` header (``first``, ``prev``, ``next``, ``last``);
- ``GET /api/now/table/<table>/<sys_id>`` (and the v2 form): ``{"result": {...}}``;
- ``GET``, ``PUT``, ``DELETE /_sandbox/servicenow/behaviour``: the faults of the ServiceNow side
  (the same specs as the Infracost side, see ``faults``), test-only.

What the instance does and this imitates is in ``docs/sandbox.md`` and the project's notes on the
Table API: Basic or bearer authentication, the encoded query of ``sysparm_query`` where a condition
on a field the table does not have is dropped (the rows come back as if it were absent),
``sysparm_fields``, paging by ``sysparm_limit`` and ``sysparm_offset``, errors as
``{"error": {"message", "detail"}, "status": "failure"}``.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, request

from reconciler.sandbox import SandboxError
from reconciler.sandbox.faults import Behaviour, FaultSpec, SpecError, parse_faults

MAX_LIMIT = 10_000  # records per request, the instance's default cap
EXTENSION = "reconciler.sandbox.servicenow"
TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,79}")
SYS_ID = "sys_id"

Record = dict[str, str]


# the data


@dataclass(frozen=True)
class Table:
    """One table: its fields (``sys_id`` included) and its records, in file order."""

    name: str
    fields: tuple[str, ...]
    records: tuple[Record, ...]
    _by_id: Mapping[str, Record] = field(default_factory=dict, repr=False, compare=False)

    def get(self, sys_id: str) -> Record | None:
        return self._by_id.get(sys_id)


@dataclass(frozen=True)
class ServiceNow:
    """What the ServiceNow side serves: its tables and the credentials it accepts."""

    tables: Mapping[str, Table]
    user: str
    password: str = field(repr=False)
    token: str | None = field(default=None, repr=False)  # for Authorization: Bearer


def load(
    tables: Mapping[str, Path], *, user: str, password: str, token: str | None = None
) -> ServiceNow:
    """Read each table's CSV fixture. SandboxError (one line) for anything that cannot be served."""
    if not user or ":" in user:
        raise SandboxError("ServiceNow user: must be non-empty and must not contain ':'")
    if not password:
        raise SandboxError("ServiceNow password: must not be empty")
    if token is not None and not token.strip():
        raise SandboxError("ServiceNow token: must not be blank")
    loaded = {name: read_table(name, path) for name, path in tables.items()}
    return ServiceNow(loaded, user, password, token)


def read_table(name: str, path: Path) -> Table:
    """One table from a CSV file: UTF-8 (a BOM is fine), a header row, then one row per record."""
    if not TABLE_NAME.fullmatch(name):
        raise SandboxError(
            f"ServiceNow table name {name!r}: expected lowercase letters, digits and _, "
            "starting with a letter (like cmdb_ci_business_app)"
        )
    where = f"ServiceNow table {name} ({path})"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SandboxError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SandboxError(f"{where}: not UTF-8 (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as exc:
        raise SandboxError(f"{where}: line {reader.line_num}: {exc}") from None
    if not rows:
        raise SandboxError(f"{where}: empty: expected a header row of field names")
    header = rows[0][1]
    for i, column in enumerate(header, start=1):
        if not column.strip():
            raise SandboxError(f"{where}: column {i} of the header has no name")
        if column in header[: i - 1]:
            raise SandboxError(f"{where}: field {column!r} appears twice in the header")
    records: list[Record] = []
    has_id = SYS_ID in header
    for number, (line, row) in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise SandboxError(
                f"{where}: line {line}: {len(row)} fields, the header has {len(header)}"
            )
        record = dict(zip(header, row, strict=True))
        if not has_id:
            record = {SYS_ID: _sys_id(name, number), **record}
        records.append(record)
    by_id: dict[str, Record] = {}
    for record in records:
        sys_id = record[SYS_ID]
        if not sys_id or sys_id in by_id:
            problem = "an empty sys_id" if not sys_id else f"sys_id {sys_id!r} twice"
            raise SandboxError(f"{where}: {problem}: every record needs its own")
        by_id[sys_id] = record
    fields = tuple(header) if has_id else (SYS_ID, *header)
    return Table(name, fields, tuple(records), by_id)


def _sys_id(table: str, number: int) -> str:
    """32 hex digits like a real sys_id, the same for the same table and row on every load."""
    return hashlib.sha256(f"{table}/{number}".encode()).hexdigest()[:32]


# the encoded query of sysparm_query

_OPERATORS: tuple[str, ...] = (
    "ISNOTEMPTY",
    "ISEMPTY",
    "NOT IN",
    "NOT LIKE",
    "STARTSWITH",
    "ENDSWITH",
    "LIKE",
    "IN",
    "!=",
    "=",
)
_ANY_FIELD = re.compile(
    r"(?P<field>[A-Za-z0-9_.]+?)(?P<op>" + "|".join(map(re.escape, _OPERATORS)) + r")(?P<value>.*)",
    re.DOTALL,
)
_TESTS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda actual, value: actual == value,
    "!=": lambda actual, value: actual != value,
    "IN": lambda actual, value: actual in value.split(","),
    "NOT IN": lambda actual, value: actual not in value.split(","),
    "LIKE": lambda actual, value: value.lower() in actual.lower(),
    "NOT LIKE": lambda actual, value: value.lower() not in actual.lower(),
    "STARTSWITH": lambda actual, value: actual.lower().startswith(value.lower()),
    "ENDSWITH": lambda actual, value: actual.lower().endswith(value.lower()),
    "ISEMPTY": lambda actual, value: actual == "",
    "ISNOTEMPTY": lambda actual, value: actual != "",
}


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: str

    def matches(self, record: Record) -> bool:
        return _TESTS[self.operator](record.get(self.field, ""), self.value)


@dataclass(frozen=True)
class Query:
    """``^NQ``-separated queries, each AND groups of ``^OR``-joined conditions; then the order.

    Conditions on fields the table does not have are already dropped: an empty group matches
    every record, like the instance that ignores the invalid part of a query.
    """

    queries: tuple[tuple[tuple[Condition, ...], ...], ...] = ()
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)

    def matches(self, record: Record) -> bool:
        if not self.queries:
            return True
        return any(
            all(not group or any(c.matches(record) for c in group) for group in query)
            for query in self.queries
        )

    def sort(self, records: list[Record]) -> list[Record]:
        for name, descending in reversed(self.order):  # stable sorts, last key first
            records.sort(key=lambda record: record.get(name, ""), reverse=descending)
        return records


class QueryError(ValueError):
    """A ``sysparm_query`` the sandbox cannot read: the message says what and where."""


def parse_query(text: str, fields: Sequence[str]) -> Query:
    """Parse an encoded query against a table's fields; unknown fields are dropped."""
    known = sorted(set(fields), key=len, reverse=True)
    queries: list[tuple[tuple[Condition, ...], ...]] = []
    groups: list[list[Condition]] = []
    order: list[tuple[str, bool]] = []
    for term in text.split("^") if text else []:
        if term in ("", "EQ"):
            continue
        if term.startswith("NQ"):  # a=1^NQb=2: a new query, OR the ones before
            if not groups or term == "NQ":
                raise QueryError("sysparm_query: ^NQ must come between two queries")
            queries.append(tuple(tuple(group) for group in groups))
            condition = _condition(term[2:], known)
            groups = [[condition] if condition is not None else []]
        elif term.startswith("ORDERBY"):
            descending = term.startswith("ORDERBYDESC")
            name = term.removeprefix("ORDERBYDESC" if descending else "ORDERBY")
            if not name:
                raise QueryError(f"sysparm_query: {term} names no field")
            if name in fields:  # ordering by a field the table does not have: ignored too
                order.append((name, descending))
        elif term.startswith("OR") and groups:
            condition = _condition(term[2:], known)
            if condition is not None:
                groups[-1].append(condition)
        elif term.startswith("OR"):
            raise QueryError(f"sysparm_query: {term!r}: ^OR with no condition before it")
        else:
            condition = _condition(term, known)
            groups.append([condition] if condition is not None else [])
    if groups:
        queries.append(tuple(tuple(group) for group in groups))
    return Query(tuple(queries), tuple(order))


def _condition(term: str, known: Sequence[str]) -> Condition | None:
    """The condition, or None for a field the table does not have (the invalid part is dropped)."""
    for name in known:  # longest first: a field may end like an operator begins
        if term.startswith(name):
            rest = term[len(name) :]
            operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
            if operator is not None:
                return _checked(Condition(name, operator, rest[len(operator) :]), term)
    match = _ANY_FIELD.fullmatch(term)
    if match is None:
        operators = ", ".join(sorted(_OPERATORS))
        raise QueryError(
            f"sysparm_query: cannot read the condition {term!r}: expected a field, an operator "
            f"({operators}) and a value"
        )
    _checked(Condition(match["field"], match["op"], match["value"]), term)
    return None


def _checked(condition: Condition, term: str) -> Condition:
    if condition.operator in ("ISEMPTY", "ISNOTEMPTY") and condition.value:
        raise QueryError(f"sysparm_query: {term!r}: {condition.operator} takes no value")
    return condition


# errors


class TableApiError(Exception):
    """An answer other than success, in ServiceNow's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = dict(headers or {})


def error_response(error: TableApiError) -> Response:
    body = {"error": {"message": error.message, "detail": error.detail}, "status": "failure"}
    response = _json(body, error.status)
    response.headers.update(error.headers)
    return response


def _unauthenticated() -> TableApiError:
    return TableApiError(
        401,
        "User Not Authenticated",
        "Required to provide Auth information",
        headers={"WWW-Authenticate": 'Basic realm="sandbox"'},
    )


# the routes


class _Controls:
    """The ServiceNow side's faults: the server's spec, unless a test replaced it."""

    def __init__(self, server: FaultSpec) -> None:
        self._server = Behaviour(server)  # its own script and random sequence
        self._override: Behaviour | None = None
        self._lock = threading.Lock()

    def current(self) -> Behaviour:
        with self._lock:
            return self._override if self._override is not None else self._server

    def replace(self, spec: FaultSpec) -> None:
        with self._lock:
            self._override = Behaviour(spec)

    def reset(self) -> None:
        with self._lock:
            self._override = None


@dataclass(frozen=True)
class _State:
    service: ServiceNow
    controls: _Controls


def register(app: Flask, service: ServiceNow, *, faults: FaultSpec | None = None) -> None:
    """Serve ``service`` from ``app``; ``faults`` is the spec in force until a test replaces it
    (each scope keeps its own script and random sequence)."""
    app.extensions[EXTENSION] = _State(service, _Controls(faults or FaultSpec()))
    app.register_error_handler(TableApiError, error_response)
    for version, prefix in (("v1", "/api/now/table"), ("v2", "/api/now/v2/table")):
        app.add_url_rule(
            f"{prefix}/<table>", f"servicenow_{version}_list", view_func=_list, methods=["GET"]
        )
        app.add_url_rule(
            f"{prefix}/<table>/<sys_id>", f"servicenow_{version}_get", _get, methods=["GET"]
        )
    app.add_url_rule(
        "/_sandbox/servicenow/behaviour",
        "servicenow_behaviour",
        _behaviour,
        methods=["GET", "PUT", "DELETE"],
    )


def serves(path: str) -> bool:
    """Whether a path belongs to the ServiceNow side of this app (its errors take its shape)."""
    return EXTENSION in current_app.extensions and path.startswith(
        ("/api/now/", "/_sandbox/servicenow/")
    )


def _state() -> _State:
    state: _State = current_app.extensions[EXTENSION]
    return state


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload) + "\n", status, mimetype="application/json")


def _authenticate(service: ServiceNow) -> None:
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthenticated() from None
        user, colon, password = decoded.partition(":")
        same_user = hmac.compare_digest(user.encode(), service.user.encode())
        same_password = hmac.compare_digest(password.encode(), service.password.encode())
        if colon and same_user and same_password:
            return
    elif (
        scheme.lower() == "bearer"
        and service.token is not None
        and hmac.compare_digest(credentials.encode(), service.token.encode())
    ):
        return
    raise _unauthenticated()


def _enter(table: str) -> Table:
    """Authenticate, apply the faults, then find the table."""
    state = _state()
    behaviour = state.controls.current()
    try:
        _authenticate(state.service)
    except TableApiError:
        time.sleep(behaviour.faults.latency_ms / 1000)
        raise
    decision = behaviour.state.decide(is_write=False)
    if decision.latency_s:
        time.sleep(decision.latency_s)
    if decision.status == 429:
        raise TableApiError(
            429,
            "Too many requests",
            "Rate limit exceeded: retry after 1 second",
            headers={"Retry-After": "1"},
        )
    if decision.status is not None:
        raise TableApiError(decision.status, "Injected fault", "The request was not processed")
    g.drop = decision.drop  # the app's after_request closes the connection unanswered
    found = state.service.tables.get(table)
    if found is None:
        raise TableApiError(400, f"Invalid table {table}")
    return found


def _whole_number(name: str, default: int, minimum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < minimum:
        raise TableApiError(
            400, f"Invalid {name}", f"{name} must be a whole number from {minimum}, got {raw!r}"
        )
    return int(raw)


def _selected(record: Record, fields: tuple[str, ...] | None) -> Record:
    if fields is None:
        return dict(record)
    return {name: record[name] for name in fields if name in record}


def _fields() -> tuple[str, ...] | None:
    raw = request.args.get("sysparm_fields", "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    return tuple(dict.fromkeys(names)) if names else None


def _list(table: str) -> Response:
    found = _enter(table)
    try:
        query = parse_query(request.args.get("sysparm_query", ""), found.fields)
    except QueryError as exc:
        raise TableApiError(400, str(exc)) from None
    limit = min(_whole_number("sysparm_limit", MAX_LIMIT, 1), MAX_LIMIT)
    offset = _whole_number("sysparm_offset", 0, 0)
    fields = _fields()
    matching = query.sort([record for record in found.records if query.matches(record)])
    page = [_selected(record, fields) for record in matching[offset : offset + limit]]
    response = _json({"result": page})
    response.headers["X-Total-Count"] = str(len(matching))
    response.headers["Link"] = _links(len(matching), offset, limit)
    return response


def _get(table: str, sys_id: str) -> Response:
    found = _enter(table)
    record = found.get(sys_id)
    if record is None:
        raise TableApiError(
            404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
        )
    return _json({"result": _selected(record, _fields())})


def _links(total: int, offset: int, limit: int) -> str:
    """ServiceNow's paging header: ``<url>;rel="first",<url>;rel="prev",...``."""
    last = (total - 1) // limit * limit if total else 0
    pages = [("first", 0)]
    if offset > 0:
        pages.append(("prev", max(0, offset - limit)))
    if offset + limit < total:
        pages.append(("next", offset + limit))
    pages.append(("last", last))
    return ",".join(f'<{_page_url(at)}>;rel="{rel}"' for rel, at in pages)


def _page_url(offset: int) -> str:
    """This request's absolute URL with another ``sysparm_offset``, every other parameter kept."""
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "sysparm_offset"]
    keys = [k for k, _ in request.args.items(multi=True)]
    at = keys.index("sysparm_offset") if "sysparm_offset" in keys else len(params)
    params.insert(at, ("sysparm_offset", str(offset)))
    return f"{request.base_url}?{urlencode(params)}"


# test-only: the faults of the ServiceNow side


def _behaviour() -> Response:
    state = _state()
    _authenticate(state.service)
    if request.method == "DELETE":
        state.controls.reset()
        return Response(status=204)
    if request.method == "PUT":
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        if not isinstance(body, dict):
            raise TableApiError(400, 'Expected a JSON body {"faults": "SPEC"}')
        if body.get("quirks"):
            raise TableApiError(400, "The ServiceNow side has no quirks", str(body["quirks"]))
        try:
            spec = parse_faults(str(body.get("faults") or ""))
        except SpecError as exc:
            raise TableApiError(400, str(exc)) from None
        state.controls.replace(spec)
    current = state.controls.current()
    return _json({"faults": current.faults.describe(), "quirks": []})
