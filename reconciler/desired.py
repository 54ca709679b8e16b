"""Documents -> desired resources, with every problem found at once and located.

Schema checks come from ``schemas``; this module adds what a schema cannot say: unique
identities and pins, values read from files, repeated set members and tag keys, regexes that
both engines accept, and the rules that tie attributes together.
"""

from __future__ import annotations

import difflib
import gc
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from reconciler import regexes
from reconciler.config import ConfigFile, load_config
from reconciler.discover import resource_files
from reconciler.documents import DEFAULT_LIMITS, Document, Limits, LoadError, load_documents
from reconciler.errors import ConfigError, InputError
from reconciler.hygiene import report as hygiene_report
from reconciler.kinds import KINDS, Kind
from reconciler.model import (
    CustomPropertiesTable,
    DesiredState,
    Location,
    Problem,
    Resource,
    SecretRef,
    Severity,
)
from reconciler.schemas import field_path, load_schema, schema_errors, with_defaults
from reconciler.settings import CONFIG_NAME, Settings, resolve
from reconciler.sources import DataError, Values, read_table, read_values, resolve_inside

MAX_REPEATS_LISTED = 20  # per list: beyond this, one line says how many more
_ABSENT_KEYS = {"kind", "name", "id", "absent"}
_THRESHOLDS = ("increaseThreshold", "increasePercentThreshold", "totalThreshold")


@dataclass
class _Reporter:
    """Collects problems for one document."""

    problems: list[Problem]
    doc: Document
    kind: str | None = None
    name: str | None = None

    def add(
        self,
        severity: Severity,
        path: tuple[str | int, ...],
        message: str,
        *,
        on_key: bool = False,
        at: Location | None = None,
        related: Location | None = None,
    ) -> None:
        if at is None:
            line, column = self.doc.locate(path, key=on_key)
            at = Location(self.doc.file, line, column)
        self.problems.append(
            Problem(
                severity,
                at,
                message,
                kind=self.kind,
                name=self.name,
                field=field_path(self.doc.data, path),
                related=related,
            )
        )

    def error(self, path: tuple[str | int, ...], message: str, **kw: Any) -> None:
        self.add("error", path, message, **kw)

    def warning(self, path: tuple[str | int, ...], message: str, **kw: Any) -> None:
        self.add("warning", path, message, **kw)


@dataclass
class _Seen:
    """Identities and pins across the whole directory."""

    names: dict[tuple[str, str], Location] = field(default_factory=dict)
    pins: dict[str, tuple[str, str, Location]] = field(default_factory=dict)
    custom_properties: Location | None = None
    # for the hygiene check, from documents without errors
    value_lists: list[hygiene_report.ValueList] = field(default_factory=list)
    tag_keys: list[hygiene_report.TagKey] = field(default_factory=list)


@dataclass
class _Hygiene:
    """What one document gives the hygiene check, kept only if the document has no error."""

    value_lists: list[hygiene_report.ValueList] = field(default_factory=list)
    tag_keys: list[hygiene_report.TagKey] = field(default_factory=list)


def read_desired(
    directory: Path,
    *,
    exclude: tuple[str, ...] = (),
    limits: Limits = DEFAULT_LIMITS,
    hygiene: Mapping[str, Any] | None = None,
) -> DesiredState:
    """Read and check every resource file of a directory.

    ``hygiene`` is the ``hygiene:`` setting of reconciler.yaml (house styles, intentional pairs).
    """
    with _gc_paused():
        return _read_desired(directory, exclude, limits, hygiene or {})


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading builds hundreds of thousands of small objects and no cycles: the cyclic garbage
    collector would only rescan them again and again (a quarter of the load time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_desired(
    directory: Path, exclude: tuple[str, ...], limits: Limits, hygiene: Mapping[str, Any]
) -> DesiredState:
    problems: list[Problem] = []
    resources: list[Resource] = []
    table: CustomPropertiesTable | None = None
    seen = _Seen()
    files = resource_files(directory, exclude)
    for file in files:
        if file.name == CONFIG_NAME:  # a nested desired-state directory: the wrong DIR?
            inner = file.parent.relative_to(directory).as_posix()
            problems.append(
                Problem(
                    "error",
                    Location(file, 1, 1),
                    "the config of another desired-state directory: run reconciler on the "
                    f'directory that holds this file, or add "{inner}/**" to exclude:',
                )
            )
            continue
        try:
            documents = load_documents(file, limits)
        except LoadError as exc:
            problems.append(Problem("error", Location(file, exc.line, exc.column), exc.message))
            continue
        for doc in documents:
            result = _check_document(doc, directory, seen, problems)
            if isinstance(result, Resource):
                resources.append(result)
            elif isinstance(result, CustomPropertiesTable):
                table = result
    found = hygiene_report.problems(seen.value_lists, seen.tag_keys, hygiene)
    problems += hygiene_report.shown(found)
    problems.sort(key=Problem.sort_key)
    return DesiredState(tuple(resources), table, tuple(problems), len(files), tuple(found))


def _check_document(
    doc: Document, root: Path, seen: _Seen, problems: list[Problem]
) -> Resource | CustomPropertiesTable | None:
    r = _Reporter(problems, doc)
    before = len(problems)
    for path, key, (line, column), first in doc.duplicate_keys:
        r.error(
            (*path, key),
            f'duplicate key "{key}" (first at line {first})',
            at=Location(doc.file, line, column),
        )
    data = doc.data
    if data is None:
        return None  # an empty document, such as a trailing "---"
    if not isinstance(data, dict):
        r.error((), "a document must be a mapping with a kind")
        return None
    kind_name = data.get("kind")
    if kind_name is None:
        r.error((), f'missing "kind" (one of {", ".join(KINDS)})')
        return None
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        hint = difflib.get_close_matches(str(kind_name), list(KINDS), n=1)
        more = f'; did you mean "{hint[0]}"?' if hint else f" (one of {', '.join(KINDS)})"
        r.error(("kind",), f'unknown kind "{kind_name}"{more}')
        return None
    r.kind = kind.name
    name = data.get("name")
    r.name = name if isinstance(name, str) else None

    errors = schema_errors(kind.schema, data)
    for e in errors:
        r.error(e.path, e.message, on_key=e.on_key)

    if not kind.named:
        return _custom_properties(doc, r, root, seen, schema_ok=not errors)
    _identity(doc, r, kind, seen)
    if data.get("absent") is True:
        _absent(r, data)
        schema_ok = not errors
        if not schema_ok or not r.name:
            return None
        return Resource(kind.name, r.name, {}, _at(doc, ()), data.get("id"), True, False)

    sources: dict[str, Location] = {}
    tags = data.get("tags")
    resolved_tags: list[Any] | None = None
    for_hygiene = _Hygiene()
    if kind.name == "TaggingPolicy" and isinstance(tags, list):
        resolved_tags = _tags(doc, r, root, tags, sources, for_hygiene)
    if kind.name == "Guardrail":
        _guardrail(r, data)
    _sets(r, kind, data)
    if isinstance(name, str) and name != name.strip():
        r.warning(("name",), "has leading or trailing white space")

    if any(p.severity == "error" for p in problems[before:]):
        return None
    seen.value_lists += for_hygiene.value_lists
    seen.tag_keys += for_hygiene.tag_keys
    return _resource(doc, kind, data, resolved_tags, sources)


def _at(doc: Document, path: tuple[str | int, ...]) -> Location:
    line, column = doc.locate(path)
    return Location(doc.file, line, column)


def _identity(doc: Document, r: _Reporter, kind: Kind, seen: _Seen) -> None:
    data = doc.data
    # A pinned document is identified by its id: live objects may share a name (the UI allows
    # it), and export writes each of them with its pin.
    if r.name is not None and not isinstance(data.get("id"), str):
        here = _at(doc, ("name",))
        first = seen.names.get((kind.name, r.name))
        if first is not None:
            r.error(("name",), "declared twice", related=first)
        else:
            seen.names[(kind.name, r.name)] = here
    pin = data.get("id")
    if isinstance(pin, str):
        key = pin.lower()
        other = seen.pins.get(key)
        if other is not None:
            r.error(("id",), f'pins the same object as {other[0]} "{other[1]}"', related=other[2])
        else:
            seen.pins[key] = (kind.name, r.name or "?", _at(doc, ("id",)))


def _absent(r: _Reporter, data: dict[str, Any]) -> None:
    for key in data:
        if key == "protect" and data[key] is True:
            r.error((key,), "forbids the deletion that absent: true asks for")
        elif key not in _ABSENT_KEYS and key != "protect":
            r.error((key,), "has no effect with absent: true; remove it", on_key=True)


def _repeats(r: _Reporter, path: tuple[str | int, ...], values: Any, what: str) -> None:
    """Inline duplicates in a set-like list are errors (the author wrote them twice)."""
    if not isinstance(values, list):
        return
    first: dict[Any, int] = {}
    repeats: list[int] = []
    for i, value in enumerate(values):
        if not isinstance(value, str):
            continue
        if value in first:
            repeats.append(i)
        else:
            first[value] = i
    for i in repeats[:MAX_REPEATS_LISTED]:
        line = r.doc.locate((*path, first[values[i]]))[0]
        r.error((*path, i), f'{what} "{values[i]}" is repeated (first at line {line})')
    if len(repeats) > MAX_REPEATS_LISTED:
        r.error(path, f"and {len(repeats) - MAX_REPEATS_LISTED} more repeated values")


def _sets(r: _Reporter, kind: Kind, data: dict[str, Any]) -> None:
    for spec in kind.set_fields:
        if spec[:1] == ("tags",):
            continue  # allowedValues are checked with their tag
        for path, values in _expand(data, spec):
            _repeats(r, path, values, "value")


def _expand(
    node: Any, spec: tuple[str, ...], prefix: tuple[str | int, ...] = ()
) -> Iterable[tuple[tuple[str | int, ...], Any]]:
    if not spec:
        yield prefix, node
        return
    head, rest = spec[0], spec[1:]
    if head == "*" and isinstance(node, dict):
        for key, child in node.items():
            yield from _expand(child, rest, (*prefix, key))
    elif head == "[]" and isinstance(node, list):
        for i, child in enumerate(node):
            yield from _expand(child, rest, (*prefix, i))
    elif isinstance(node, dict) and head in node:
        yield from _expand(node[head], rest, (*prefix, head))


def _tags(
    doc: Document,
    r: _Reporter,
    root: Path,
    tags: list[Any],
    sources: dict[str, Location],
    for_hygiene: _Hygiene,
) -> list[Any]:
    """Check each tag rule; return the tags with allowedValuesFrom read into allowedValues."""
    keys: dict[str, int] = {}
    resolved: list[Any] = []
    for i, tag in enumerate(tags):
        resolved.append(tag)
        if not isinstance(tag, dict):
            continue
        path: tuple[str | int, ...] = ("tags", i)
        key = tag.get("key")
        if isinstance(key, str):
            if key in keys:
                line = doc.locate(("tags", keys[key], "key"))[0]
                r.error((*path, "key"), f'tag key "{key}" is repeated (first at line {line})')
            else:
                keys[key] = i
                for_hygiene.tag_keys.append(
                    hygiene_report.TagKey(
                        r.kind or "",
                        r.name or "",
                        key,
                        _at(doc, (*path, "key")),
                        field_path(doc.data, (*path, "key")),
                    )
                )
        value_type = tag.get("valueType", "ANY")
        inline = tag.get("allowedValues")
        from_file = tag.get("allowedValuesFrom")
        regex = tag.get("allowedRegex")
        if value_type == "LIST":
            if inline is not None and from_file is not None:
                r.error(path, "use allowedValues or allowedValuesFrom, not both")
            elif inline is None and from_file is None:
                r.error(path, "valueType LIST needs allowedValues or allowedValuesFrom")
            elif inline is not None:
                if inline == []:
                    r.error((*path, "allowedValues"), "valueType LIST needs at least one value")
                _repeats(r, (*path, "allowedValues"), inline, "allowed value")
                if isinstance(key, str) and isinstance(inline, list):
                    for_hygiene.value_lists.append(_inline_list(doc, r, path, key, inline))
        elif value_type in ("ANY", "REGEX"):
            for attr in ("allowedValues", "allowedValuesFrom"):
                if tag.get(attr) not in (None, []):
                    r.error(
                        (*path, attr),
                        f"is only used with valueType LIST (this tag is {value_type})",
                    )
        if value_type == "REGEX":
            if isinstance(regex, str) or regex is None:
                for finding in regexes.check(regex or ""):
                    r.add(
                        finding.severity,
                        (*path, "allowedRegex") if regex else path,
                        finding.message,
                    )
        elif regex not in (None, "") and value_type in ("ANY", "LIST"):
            r.error(
                (*path, "allowedRegex"),
                f"is only used with valueType REGEX (this tag is {value_type})",
            )
        if value_type == "LIST" and isinstance(from_file, dict) and inline is None:
            got = _values_from(doc, r, root, (*path, "allowedValuesFrom"), from_file)
            if got is not None and isinstance(key, str):
                resolved[-1] = {k: v for k, v in tag.items() if k != "allowedValuesFrom"}
                resolved[-1]["allowedValues"] = got[1].values
                sources[key] = _at(doc, (*path, "allowedValuesFrom"))
                for_hygiene.value_lists.append(_file_list(doc, r, path, key, *got))
    return resolved


def _inline_list(
    doc: Document, r: _Reporter, path: tuple[str | int, ...], key: str, inline: list[Any]
) -> hygiene_report.ValueList:
    """Inline values, each located at its own YAML line."""
    positions = {v: j for j, v in reversed(list(enumerate(inline))) if isinstance(v, str)}
    values = sorted(positions, key=positions.__getitem__)

    def locate(i: int) -> Location:
        return _at(doc, (*path, "allowedValues", positions[values[i]]))

    field_name = field_path(doc.data, (*path, "allowedValues"))
    return hygiene_report.ValueList(r.kind or "", r.name or "", key, values, field_name, locate)


def _file_list(
    doc: Document, r: _Reporter, path: tuple[str | int, ...], key: str, file: Path, got: Values
) -> hygiene_report.ValueList:
    """Values read from a file, each located at its line there (computed only when needed)."""
    lines = cache(got.lines)

    def locate(i: int) -> Location:
        return Location(file, lines()[i], 1)

    field_name = field_path(doc.data, (*path, "allowedValuesFrom"))
    return hygiene_report.ValueList(r.kind or "", r.name or "", key, got.values, field_name, locate)


def _values_from(
    doc: Document, r: _Reporter, root: Path, path: tuple[str | int, ...], ref: dict[str, Any]
) -> tuple[Path, Values] | None:
    file, column = ref.get("file"), ref.get("column")
    if not isinstance(file, str) or not (column is None or isinstance(column, str)):
        return None  # the schema has said why
    try:
        target = resolve_inside(root, doc.file, file)
        if target.suffix.lower() == ".txt" and column is not None:
            r.error((*path, "column"), "is only used with a .csv file")
            return None
        got = read_values(target, column)
    except DataError as exc:
        if exc.file is not None and exc.line:
            r.error(path, f"{exc.message}", at=Location(exc.file, exc.line, 1))
        else:
            where = (*path, "column") if "column" in exc.message else (*path, "file")
            r.error(where, exc.message)
        return None
    if not got.values:
        r.error((*path, "file"), f'"{file}" holds no values')
        return None
    if got.duplicates:
        value, first, line = got.duplicates[0]
        r.warning(
            path,
            f'{len(got.duplicates)} repeated value(s) in "{file}" removed '
            f'(first: "{value}" at lines {first} and {line})',
        )
    if got.empty_lines:
        r.warning(
            path,
            f'{len(got.empty_lines)} empty value(s) in "{file}" skipped '
            f"(first at line {got.empty_lines[0]})",
        )
    return target, got


def _guardrail(r: _Reporter, data: dict[str, Any]) -> None:
    if data.get("scope") == "REPO":
        r.warning(
            ("scope",),
            "REPO is accepted for older clients; Infracost documents PULL_REQUEST and PROJECT",
        )
    if all(data.get(t) is None for t in _THRESHOLDS):
        r.warning((), "has no threshold, so it never triggers")
    for name in _THRESHOLDS:
        value = data.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            r.error((name,), f"must be a finite number; got {value}")
    percent = data.get("increasePercentThreshold")
    if isinstance(percent, int | float) and not isinstance(percent, bool) and 0 < percent < 1:
        r.warning(
            ("increasePercentThreshold",),
            f"is in whole percent: {percent} means {percent} %, not {percent * 100:g} %",
        )


def _resource(
    doc: Document,
    kind: Kind,
    data: dict[str, Any],
    tags: list[Any] | None,
    sources: dict[str, Location],
) -> Resource:
    body = dict(data)
    if tags is not None:
        body["tags"] = tags
    full = with_defaults(load_schema(kind.schema), body)
    for secret in kind.secret_fields:
        value = full.get(secret)
        if isinstance(value, dict):
            full[secret] = SecretRef(value["fromEnv"], value.get("default"))
    for tag in full.get("tags", ()):
        tag.pop("allowedValuesFrom", None)
    attributes = {k: v for k, v in full.items() if k not in kind.tool_only}
    return Resource(
        kind=kind.name,
        name=data["name"],
        attributes=attributes,
        location=_at(doc, ()),
        id=data.get("id"),
        absent=False,
        protect=bool(data.get("protect", False)),
        sources=sources,
    )


def _custom_properties(
    doc: Document, r: _Reporter, root: Path, seen: _Seen, *, schema_ok: bool
) -> CustomPropertiesTable | None:
    here = _at(doc, ())
    if seen.custom_properties is not None:
        r.error((), "only one CustomProperties document is allowed", related=seen.custom_properties)
        return None
    seen.custom_properties = here
    file = doc.data.get("file")
    if not schema_ok or not isinstance(file, str):
        return None
    try:
        target = resolve_inside(root, doc.file, file)
        table = read_table(target)
    except DataError as exc:
        if exc.file is not None and exc.line:
            r.error(("file",), exc.message, at=Location(exc.file, exc.line, 1))
        else:
            r.error(("file",), exc.message)
        return None
    return CustomPropertiesTable(here, target, table.header, table.rows, table.digest)


# --- a directory with its settings ---------------------------------------------------------


@dataclass
class Prepared:
    directory: Path
    config: ConfigFile
    settings: Settings | None  # None when the settings contradict each other (see problems)
    state: DesiredState
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def prepare(
    directory: Path, *, flag_org: str | None, flag_api: str | None, env: Mapping[str, str]
) -> Prepared:
    """Read and check a desired-state directory and its settings; every problem at once."""
    if not directory.is_dir():
        what = "is a file, not a directory" if directory.exists() else "no such directory"
        raise InputError(f"{directory}: {what}")
    config = load_config(directory)
    problems = list(config.problems)
    settings: Settings | None = None
    try:
        settings = resolve(
            directory,
            flag_org=flag_org,
            flag_api=flag_api,
            env=env,
            config=config.data,
            config_file=config.path,
        )
    except ConfigError as exc:
        from_flag = (exc.field == "org" and flag_org is not None) or (
            exc.field == "api" and flag_api is not None
        )
        if from_flag:
            raise  # a bad flag, not a problem of the files
        problems.append(
            Problem("error", config.location(exc.field), str(exc), field=exc.field or "")
        )
    state = read_desired(
        directory,
        exclude=tuple(config.data.get("exclude", ())),
        hygiene=config.data.get("hygiene"),
    )
    problems.extend(state.problems)
    problems.sort(key=Problem.sort_key)
    return Prepared(directory, config, settings, state, problems)
