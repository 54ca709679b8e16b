"""``reconciler pull``: the values' journey from the system of record to the files policies read.

Facts, then changes, then execute: every ``pull:`` entry of reconciler.yaml is fetched (all
pages), checked by the guards, and turned into the CSV text it would write; only when no entry
is refused are the files written, each atomically. A refusal writes nothing at all.

The guards, because a CMDB query fails silently:

- ServiceNow ignores a condition on a field that does not exist and returns every row: the
  simple conditions of the query (``a=b``, ``a!=b``, ``aINx,y`` joined by ``^``) are requested
  as fields too and re-checked on every record; a field no record has is an error naming it.
  A query too complex to re-check is trusted to the server, and the result says so.
- A field of ``fields`` that no record has is an error (a misspelled column).
- An empty result is refused.
- A result more than ``maxShrink`` percent smaller than the file is refused unless
  ``allow_shrink``.

The file: UTF-8, LF, a header row (the fields), the rows sorted (first field first) and
de-duplicated, so that an unchanged source gives a byte-identical file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import secrets
from reconciler.errors import ConfigError, InputError
from reconciler.files import write_atomic
from reconciler.http.servicenow import PAGE_SIZE, ServiceNow
from reconciler.http.transport import HttpError, TransportSettings
from reconciler.hygiene import variants
from reconciler.hygiene.variants import Style
from reconciler.sources import DataError, resolve_inside

SANDBOX = "sandbox"
_CONDITION = re.compile(r"^([a-z0-9_.]+?)(!=|=|IN)(.*)$", re.DOTALL)


# --- what reconciler.yaml asks for -------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # "=", "!=", "IN"
    values: tuple[str, ...]

    def holds(self, value: str) -> bool:
        if self.op == "!=":
            return value != self.values[0]
        return value in self.values


@dataclass(frozen=True)
class Query:
    text: str
    conditions: tuple[Condition, ...]
    checked: bool  # False: too complex to re-check; trusted to the server

    @classmethod
    def parse(cls, text: str) -> Query:
        """The simple conditions of an encoded query, or ``checked=False`` when it holds
        anything else (``^OR``, ``^NQ``, ``LIKE``, ``ORDERBY``...)."""
        conditions = []
        for part in text.split("^") if text.strip() else []:
            match = _CONDITION.match(part)
            if match is None:
                return cls(text, (), False)
            name, op, value = match.groups()
            values = tuple(value.split(",")) if op == "IN" else (value,)
            conditions.append(Condition(name, op, values))
        return cls(text, tuple(conditions), True)


@dataclass(frozen=True)
class Pull:
    """One ``pull:`` entry."""

    index: int
    source: str
    table: str
    query: Query
    fields: tuple[str, ...]
    file: str
    max_shrink: float  # percent


def pulls_of(config: Mapping[str, Any]) -> list[Pull]:
    return [
        Pull(
            i,
            str(p["source"]),
            str(p["table"]),
            Query.parse(str(p.get("query", ""))),
            tuple(p["fields"]),
            str(p["file"]),
            float(p.get("maxShrink", 10)),
        )
        for i, p in enumerate(config.get("pull") or ())
    ]


# --- the result ------------------------------------------------------------------------------


@dataclass
class FileResult:
    pull: Pull
    path: Path
    fetched: int = 0  # records the source gave
    rows: int = 0  # rows of the new file
    before: int | None = None  # rows of the file now; None: no file yet
    added: list[str] = field(default_factory=list)  # first-field values of rows added
    removed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # first-field values whose other cells moved
    text: str = ""
    changed: bool = False
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the guards checked, or could not
    hygiene: list[str] = field(default_factory=list)  # findings about added values


@dataclass
class Report:
    directory: Path
    files: list[FileResult]
    errors: list[str] = field(default_factory=list)  # refusals and failures, every file's
    written: bool = False
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.files)


# --- connecting ----------------------------------------------------------------------------


Connect = Callable[[str, Mapping[str, Any]], ServiceNow]


@contextmanager
def connections(
    directory: Path,
    sources: Mapping[str, Any],
    env: Mapping[str, str],
    settings: TransportSettings | None = None,
) -> Iterator[Callable[[str], ServiceNow]]:
    """A client per source name, opened when first asked for."""
    with ExitStack() as stack:
        opened: dict[str, ServiceNow] = {}

        def client(name: str) -> ServiceNow:
            if name not in opened:
                spec = sources[name]["servicenow"]
                opened[name] = stack.enter_context(_open(directory, name, spec, env, settings))
            return opened[name]

        yield client


@contextmanager
def _open(
    directory: Path,
    name: str,
    spec: Mapping[str, Any],
    env: Mapping[str, str],
    settings: TransportSettings | None,
) -> Iterator[ServiceNow]:
    from requests.auth import HTTPBasicAuth

    from reconciler.http.transport import BearerAuth
    from reconciler.settings import Secret

    instance = str(spec["instance"]).strip()
    if instance.lower() == SANDBOX:
        from reconciler.sandbox.embedded import embedded_servicenow

        tables = {}
        for table, file in (spec.get("fixtures") or {}).items():
            try:
                tables[table] = resolve_inside(directory, directory / "reconciler.yaml", file)
            except DataError as exc:
                raise ConfigError(f"sources.{name}.servicenow.fixtures.{table}: {exc}") from None
        with embedded_servicenow(tables) as endpoint:
            secrets.register(endpoint.user, endpoint.password)
            auth = HTTPBasicAuth(endpoint.user, endpoint.password)
            with ServiceNow(endpoint.base_url, auth, settings) as client:
                yield client
        return

    def secret(key: str) -> str:
        variable = spec[key]["fromEnv"]
        value = env.get(variable, "")
        if not value:
            raise ConfigError(f"{variable} is not set (sources.{name}.servicenow.{key})")
        secrets.register(value)  # scrubbed from every message of the run
        return value

    if "token" in spec:
        token = secret("token")
        with ServiceNow(instance, BearerAuth(Secret(token)), settings, secrets=[token]) as client:
            yield client
        return
    if "user" not in spec or "password" not in spec:
        raise ConfigError(
            f"sources.{name}.servicenow: needs user and password, or token, each {{fromEnv: ...}}"
        )
    user, password = secret("user"), secret("password")
    auth = HTTPBasicAuth(user, password)
    with ServiceNow(instance, auth, settings, secrets=[user, password]) as client:
        yield client


# --- the stage -------------------------------------------------------------------------------


Progress = Callable[[Pull, int, int, int | None], None]


def pull(
    directory: Path,
    config: Mapping[str, Any],
    client: Callable[[str], ServiceNow],
    *,
    allow_shrink: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
    styles: Mapping[str, Style] | None = None,
) -> Report:
    """Fetch every pull, check it, and write the files only if none is refused. ``styles``: the
    hygiene settings that apply to each pull's file (by ``file:``), as ``hygiene:`` in
    reconciler.yaml gives them for the tag key that reads it."""
    pulls = pulls_of(config)
    if not pulls:
        raise InputError(f"{directory}: reconciler.yaml has no pull: entries")
    report = Report(directory, [], dry_run=dry_run)
    for p in pulls:
        result = FileResult(p, _target(directory, p))
        report.files.append(result)
        try:
            records = _fetch(client(p.source), p, result, progress, page_size)
        except HttpError as exc:
            result.refusals.append(str(exc))
        else:
            _build(result, records, allow_shrink)
            if result.added and not result.refusals:
                result.hygiene = _hygiene(result, (styles or {}).get(p.file, Style()))
        report.errors += [f"{p.file}: {r}" for r in result.refusals]
    if not report.errors and not dry_run:
        for result in report.files:
            if result.changed:
                write_atomic(result.path, result.text)
        report.written = True
    return report


def _target(directory: Path, p: Pull) -> Path:
    target = (directory / p.file).resolve()
    if not target.is_relative_to(directory.resolve()):
        raise ConfigError(f"pull[{p.index}].file: {p.file!r} is outside the directory")
    return target


def _fetch(
    client: ServiceNow, p: Pull, result: FileResult, progress: Progress | None, page_size: int
) -> list[dict[str, str]]:
    checked = [c.field for c in p.query.conditions]
    fetched = client.records(
        p.table,
        query=p.query.text,
        fields=[*p.fields, *checked],
        page_size=page_size,
        progress=None if progress is None else lambda n, got, total: progress(p, n, got, total),
    )
    result.fetched = len(fetched.records)
    if fetched.total is not None and fetched.total != len(fetched.records) + fetched.repeated:
        result.notes.append(
            f"X-Total-Count said {fetched.total:,} records, {len(fetched.records):,} came: "
            "the table changed during the pull; pull again to be sure"
        )
    elif fetched.repeated:
        result.notes.append(f"{fetched.repeated} records came twice (the table moved); kept once")
    return fetched.records


def _build(result: FileResult, records: list[dict[str, str]], allow_shrink: bool) -> None:
    p = result.pull
    refusals, notes = result.refusals, result.notes
    if not records:
        refusals.append(
            f"{p.table} returned no records for the query {p.query.text!r}: refused "
            "(an empty answer is what a permission change looks like)"
        )
        return
    for name in dict.fromkeys([*p.fields, *(c.field for c in p.query.conditions)]):
        if not any(name in r for r in records):
            why = (
                "ServiceNow ignores a condition on a field that does not exist and returns "
                "every row"
                if name not in p.fields
                else "a misspelled field would give an empty column"
            )
            refusals.append(f"{p.table} has no field {name!r} ({why})")
    if refusals:
        return
    if not p.query.checked:
        notes.append("the query is too complex to re-check here: trusted to ServiceNow")
    elif p.query.conditions:
        wrong = [
            r for r in records if not all(c.holds(r.get(c.field, "")) for c in p.query.conditions)
        ]
        if wrong:
            refusals.append(
                f"{len(wrong):,} records do not match the query {p.query.text!r} "
                f"(first: sys_id {wrong[0].get('sys_id', '?')}): ServiceNow ignored part of it"
            )
            return
        n = len(p.query.conditions)
        notes.append(f"every record re-checked against the {n} condition(s) of the query")
    rows = sorted({tuple(r.get(f, "") for f in p.fields) for r in records})
    result.rows = len(rows)
    result.text = _csv(p.fields, rows)
    old = _old_rows(result.path, p)
    if old is None:
        result.added = [r[0] for r in rows]
        result.changed = True
        return
    result.before = len(old)
    now = set(rows)
    gone, came = old - now, now - old
    old_keys, new_keys = {r[0] for r in old}, {r[0] for r in now}
    result.added = sorted({r[0] for r in came} - old_keys)
    result.removed = sorted({r[0] for r in gone} - new_keys)
    result.updated = sorted({r[0] for r in came | gone} & old_keys & new_keys)
    try:
        result.changed = result.path.read_text(encoding="utf-8") != result.text
    except (OSError, UnicodeDecodeError):
        result.changed = True
    limit = len(old) * (1 - p.max_shrink / 100)
    if len(rows) < limit and not allow_shrink:
        refusals.append(
            f"{len(rows):,} rows where the file has {len(old):,} "
            f"({(len(old) - len(rows)) / len(old):.0%} fewer, more than maxShrink "
            f"{p.max_shrink:g}%): refused; pass --allow-shrink if the source really shrank"
        )


def _csv(fields: Sequence[str], rows: Sequence[tuple[str, ...]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows(rows)
    return buf.getvalue()


def _old_rows(path: Path, p: Pull) -> set[tuple[str, ...]] | None:
    """The rows of the file as it is, in the pull's columns; None when there is no file."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header, *rows = list(csv.reader(fh)) or [[]]
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()  # unreadable: every row is new, and no shrink can be measured
    index = {name: i for i, name in enumerate(header)}
    return {
        tuple(row[index[f]] if f in index and index[f] < len(row) else "" for f in p.fields)
        for row in rows
    }


def _hygiene(result: FileResult, style: Style) -> list[str]:
    """The hygiene findings (docs/format.md) that involve a value this pull adds, in the first
    field: the ID column a policy reads."""

    rows = list(csv.reader(io.StringIO(result.text)))[1:]
    values = list(dict.fromkeys(r[0] for r in rows if r))
    line = {v: i + 2 for i, v in reversed(list(enumerate(r[0] for r in rows if r)))}
    added = set(result.added)
    out = []
    for finding in variants.check(values, style):
        involved = {values[finding.index]}
        if finding.other is not None:
            involved.add(values[finding.other])
        if involved & added:
            out.append(variants.message(finding, values, lambda i: f"line {line[values[i]]}"))
    return out
