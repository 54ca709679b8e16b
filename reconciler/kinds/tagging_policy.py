"""TaggingPolicy: which tags resources must carry, and which values each tag allows.

Particular to this kind: ``tags`` is a list keyed by ``key``; a LIST tag's ``allowedValues``
may be read from a CSV or TXT file (``allowedValuesFrom``) and are checked for hygiene; a REGEX
must compile under ECMAScript and RE2; export writes long value lists to a CSV beside the
policy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from reconciler import documents, governance, regexes
from reconciler.hygiene import report as hygiene_report
from reconciler.kinds import filters
from reconciler.kinds.base import (
    GENERIC,
    DocPath,
    DocumentCheck,
    ExportContext,
    FieldPath,
    is_default,
    slug,
    sorted_list,
)
from reconciler.model import FieldChange, Governance, Location
from reconciler.sources import (
    DataError,
    RowFilter,
    Unmatched,
    Values,
    read_values,
    resolve_inside,
)


class TaggingPolicy:
    name: str = "TaggingPolicy"
    schema: str = "tagging-policy.schema.json"
    api_path: str = "tagging-policies"
    jsonapi_type: str = "tagging-policies"
    folder: str = "tagging-policies"
    set_fields: tuple[FieldPath, ...] = (*filters.SET_FIELDS, ("tags", "[]", "allowedValues"))
    keyed_lists: tuple[tuple[str, str], ...] = (("tags", "key"),)
    secret_fields: tuple[str, ...] = ()
    notification_fields: tuple[str, ...] = ()
    prunable: bool = True

    def check(self, c: DocumentCheck) -> dict[str, Any]:
        filters.check(c)
        tags = c.data.get("tags")
        if not isinstance(tags, list):
            return {}
        if not tags:
            c.warning(("tags",), "no tag rules: this policy checks nothing")
        return {"tags": _tags(c, tags)}

    def secret_problem(self, attribute: str, value: str) -> str | None:
        return None

    def governance(
        self,
        path: FieldPath,
        change: FieldChange,
        have: Mapping[str, Any],
        want: Mapping[str, Any],
    ) -> Governance:
        field = path[-1]
        if path[0] == "tags" and len(path) == 3:  # a whole tag rule added or removed
            return "tightening" if change.before is None else "loosening"
        if field in ("name", "message"):
            return "neutral"
        if field in ("blockPr", "prComment", "mandatory"):
            return governance.switch(change)
        if field in ("allowedValues", "allowedRegex") and _value_type_changes(path, have, want):
            return "neutral"  # the valueType change decides
        if field == "allowedValues":  # more allowed values: fewer PRs fail
            return governance.sets(change, more_is_tighter=False)
        if field == "valueType":
            if change.before == "ANY":
                return "tightening"
            if change.after == "ANY":
                return "loosening"
            return "unknown"
        return filters.classify(path, change) or "unknown"

    def export_attribute(
        self, attribute: str, value: Any, schema: Mapping[str, Any], out: ExportContext
    ) -> Any:
        if attribute == "filters":
            return filters.export(value, schema, out)
        if attribute == "tags":
            return _export_tags(value, schema, out)
        return GENERIC


def _value_type_changes(path: FieldPath, have: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    if len(path) < 4 or path[0] != "tags":
        return False
    key = path[2]
    before = have.get("tags", {}).get(key, {}) if isinstance(have.get("tags"), dict) else {}
    after = want.get("tags", {}).get(key, {}) if isinstance(want.get("tags"), dict) else {}
    return bool(before.get("valueType") != after.get("valueType"))


# --- checking ----------------------------------------------------------------------------------


def _tags(c: DocumentCheck, tags: list[Any]) -> list[Any]:
    """Check each tag rule; return the tags with allowedValuesFrom read into allowedValues."""
    keys: dict[str, int] = {}
    resolved: list[Any] = []
    for i, tag in enumerate(tags):
        resolved.append(tag)
        if not isinstance(tag, dict):
            continue
        path: DocPath = ("tags", i)
        key = tag.get("key")
        if isinstance(key, str):
            if key in keys:
                line = c.doc.locate(("tags", keys[key], "key"))[0]
                c.error((*path, "key"), f'tag key "{key}" is repeated (first at line {line})')
            else:
                keys[key] = i
                c.tag_keys.append(
                    hygiene_report.TagKey(
                        c.kind or "",
                        c.name or "",
                        key,
                        c.at((*path, "key")),
                        c.field((*path, "key")),
                    )
                )
        value_type = tag.get("valueType", "ANY")
        inline = tag.get("allowedValues")
        from_file = tag.get("allowedValuesFrom")
        regex = tag.get("allowedRegex")
        if value_type == "LIST":
            if inline is not None and from_file is not None:
                c.error(path, "use allowedValues or allowedValuesFrom, not both")
            elif inline is None and from_file is None:
                c.error(path, "valueType LIST needs allowedValues or allowedValuesFrom")
            elif inline is not None:
                if inline == []:
                    c.error((*path, "allowedValues"), "valueType LIST needs at least one value")
                c.repeats((*path, "allowedValues"), inline, "allowed value")
                if isinstance(key, str) and isinstance(inline, list):
                    c.value_lists.append(_inline_list(c, path, key, inline))
        elif value_type in ("ANY", "REGEX"):
            for attr in ("allowedValues", "allowedValuesFrom"):
                if tag.get(attr) not in (None, []):
                    c.error(
                        (*path, attr),
                        f"is only used with valueType LIST (this tag is {value_type})",
                    )
        if value_type == "REGEX":
            if isinstance(regex, str) or regex is None:
                for finding in regexes.check(regex or ""):
                    c.add(
                        finding.severity,
                        (*path, "allowedRegex") if regex else path,
                        finding.message,
                    )
        elif regex not in (None, "") and value_type in ("ANY", "LIST"):
            c.error(
                (*path, "allowedRegex"),
                f"is only used with valueType REGEX (this tag is {value_type})",
            )
        if value_type == "LIST" and isinstance(from_file, dict) and inline is None:
            got = _values_from(c, (*path, "allowedValuesFrom"), from_file)
            if got is not None and isinstance(key, str):
                resolved[-1] = {k: v for k, v in tag.items() if k != "allowedValuesFrom"}
                resolved[-1]["allowedValues"] = got[1].values
                c.sources[key] = c.at((*path, "allowedValuesFrom"))
                c.value_lists.append(_file_list(c, path, key, *got, from_file.get("column")))
    return resolved


def _inline_list(
    c: DocumentCheck, path: DocPath, key: str, inline: list[Any]
) -> hygiene_report.ValueList:
    """Inline values, each located at its own YAML line."""
    positions = {v: j for j, v in reversed(list(enumerate(inline))) if isinstance(v, str)}
    values = sorted(positions, key=positions.__getitem__)
    # the list's own positions, not the document: hygiene keeps every list until all are read
    file, node = c.doc.file, c.doc.node((*path, "allowedValues"))
    assert node is not None  # the values were just read from it

    def locate(i: int) -> Location:
        return Location(file, *documents.locate(node, (positions[values[i]],)))

    field_name = c.field((*path, "allowedValues"))
    return hygiene_report.ValueList(c.kind or "", c.name or "", key, values, field_name, locate)


def _file_list(
    c: DocumentCheck, path: DocPath, key: str, file: Path, got: Values, column: str | None
) -> hygiene_report.ValueList:
    """Values read from a file, each located at its line there (computed only when needed)."""
    lines = cache(got.lines)

    def locate(i: int) -> Location:
        return Location(file, lines()[i], 1)

    field_name = c.field((*path, "allowedValuesFrom"))
    return hygiene_report.ValueList(
        c.kind or "", c.name or "", key, got.values, field_name, locate, (file, column)
    )


def _values_from(
    c: DocumentCheck, path: DocPath, ref: dict[str, Any]
) -> tuple[Path, Values] | None:
    file, column = ref.get("file"), ref.get("column")
    where = _row_filters(ref.get("where", {}))
    if not isinstance(file, str) or not (column is None or isinstance(column, str)):
        return None  # the schema has said why
    if where is None:
        return None  # the schema has said why
    try:
        target = resolve_inside(c.root, c.doc.file, file)
        if target.suffix.lower() == ".txt" and (column is not None or where):
            for key, given in (("column", column is not None), ("where", bool(where))):
                if given:
                    c.error((*path, key), "is only used with a .csv file")
            return None
        got = read_values(target, column, where)
    except DataError as exc:
        if exc.file is not None and exc.line:
            c.error(path, f"{exc.message}", at=Location(exc.file, exc.line, 1))
        elif exc.key[:1] == ("where",):  # a filter column: point at it
            c.error((*path, *exc.key), exc.message, on_key=len(exc.key) > 1)
        else:
            c.error((*path, *(exc.key or ("file",))), exc.message)
        return None
    if where and got.rows and got.dropped == got.rows:
        rows = "the only row" if got.rows == 1 else f"all {got.rows:,} rows"
        c.error(
            (*path, "where"),
            f'"{file}" holds no values: the where filter dropped {rows}'
            + _unmatched(u for u in got.unmatched if not u.negate),
        )
        return None
    if not got.values:
        c.error((*path, "file"), f'"{file}" holds no values')
        return None
    if where:
        kept = got.rows - got.dropped
        c.add(
            "note",
            path,
            f"where kept {kept:,} of {got.rows:,} rows ({got.dropped:,} dropped)"
            + _unmatched(got.unmatched),
        )
    if got.duplicates:
        value, first, line = got.duplicates[0]
        c.warning(
            path,
            f'{len(got.duplicates)} repeated value(s) in "{file}" removed '
            f'(first: "{value}" at lines {first} and {line})',
        )
    if got.empty_lines:
        c.warning(
            path,
            f'{len(got.empty_lines)} empty value(s) in "{file}" skipped '
            f"(first at line {got.empty_lines[0]})",
        )
    return target, got


def _unmatched(found: Iterable[Unmatched]) -> str:
    """Values of ``where`` that no row holds, most likely typos: "; no row has status "pilto"
    (did you mean "pilot"?)"."""
    return "".join(
        f'; no row has {u.column} "{u.value}"' + (f' (did you mean "{u.hint}"?)' if u.hint else "")
        for u in found
    )


def _row_filters(where: Any) -> list[RowFilter] | None:
    """``where:`` as row filters; None when it is malformed (the schema says how)."""
    if not isinstance(where, dict):
        return None
    out = []
    for column, condition in where.items():
        negate = isinstance(condition, dict)
        if negate:
            if list(condition) != ["not"]:
                return None
            condition = condition["not"]
        values = [condition] if isinstance(condition, str) else condition
        if not (
            isinstance(column, str)
            and isinstance(values, list)
            and values
            and all(isinstance(v, str) for v in values)
        ):
            return None
        out.append(RowFilter(column, tuple(values), negate))
    return out


# --- export --------------------------------------------------------------------------------------


def _export_tags(value: Any, schema: Mapping[str, Any], out: ExportContext) -> list[dict[str, Any]]:
    """Tags sorted by key, defaults left out; a list longer than the inline limit goes to a CSV
    beside the policy."""
    item_props = schema.get("items", {}).get("properties", {})
    result = []
    for tag in sorted(
        (t for t in value or [] if isinstance(t, dict)), key=lambda t: str(t.get("key"))
    ):
        entry: dict[str, Any] = {}
        for prop, spec in item_props.items():
            if prop == "allowedValuesFrom" or prop not in tag:
                continue
            v = tag[prop]
            if prop != "key" and is_default(v, spec):
                continue
            if prop == "allowedValues" and isinstance(v, list):
                values = sorted_list(v)
                if len(values) > out.inline_limit:
                    name = f"{out.file_slug}.{slug(str(tag.get('key')))}.csv"
                    buf = io.StringIO()
                    writer = csv.writer(buf, lineterminator="\n")
                    writer.writerow(["value"])
                    writer.writerows([x] for x in values)
                    out.files[f"{out.folder}/{name}"] = buf.getvalue()
                    entry["allowedValuesFrom"] = {"file": name, "column": "value"}
                    continue
                v = values
            entry[prop] = v
        extra = set(tag) - set(item_props)
        if extra:
            out.warnings.append(
                f"{out.ref}: tag {tag.get('key')!r} has keys reconciler does not manage "
                f"({', '.join(sorted(extra))}); left out, the API keeps them"
            )
        result.append(entry)
    return result
