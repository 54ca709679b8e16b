"""What every kind provides (the Protocols), and what kind modules share to provide it.

A kind is one module of this package: ``ObjectKind`` for collections of named objects that the
API lists, creates, updates and deletes (tagging policies, guardrails); ``TableKind`` for a
document that names a file uploaded whole and never read back (custom properties). The stages
(desired, normalize, diff, governance, plan, apply, export) ask these; none of them names a kind.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.model import FieldChange, Governance, Location, Problem, Severity

if TYPE_CHECKING:
    from reconciler.documents import Document
    from reconciler.hygiene.report import TagKey, ValueList
    from reconciler.model import CustomPropertiesChange, CustomPropertiesTable, UploadTarget

# A place in an object: keys of mappings; "*" is any key of a mapping, "[]" every list element.
FieldPath = tuple[str, ...]
DocPath = tuple[str | int, ...]

# Keys of every document that are the tool's, never sent to the API.
TOOL_ONLY = ("kind", "id", "absent", "protect")
MAX_REPEATS_LISTED = 20  # per list: beyond this, one line says how many more


class ObjectKind(Protocol):
    """A collection of named objects under ``/v1/orgs/{org}/{api_path}``."""

    name: str  # ``kind:`` in files, and the kind in plans
    schema: str  # a file name in schemas/, or an absolute path
    api_path: str
    jsonapi_type: str
    folder: str  # where export writes its documents
    set_fields: tuple[FieldPath, ...]  # lists compared as sets
    keyed_lists: tuple[tuple[str, str], ...]  # (list attribute, key field): compared by key
    secret_fields: tuple[str, ...]  # written as {fromEnv: VAR}, compared by fingerprint
    prunable: bool  # undeclared live objects may be deleted by ``prune``
    # who gets notified (webhooks, recipient lists): a change there is shown as one, whatever
    # its governance label
    notification_fields: tuple[str, ...]

    def check(self, c: DocumentCheck) -> dict[str, Any]:
        """The rules a schema cannot say; returns attributes to replace (values read from
        files). Problems go to ``c``; a document with errors is dropped."""
        ...

    def secret_problem(self, attribute: str, value: str) -> str | None:
        """Why a secret's resolved value cannot be sent (never quoting it), or None."""
        ...

    def governance(
        self,
        path: FieldPath,
        change: FieldChange,
        have: Mapping[str, Any],
        want: Mapping[str, Any],
    ) -> Governance:
        """Does this field change make more pull requests fail or be blocked?"""
        ...

    def export_attribute(
        self, attribute: str, value: Any, schema: Mapping[str, Any], out: ExportContext
    ) -> Any:
        """The value export writes for an attribute; ``GENERIC`` for the generic rule,
        ``OMIT`` to leave it out."""
        ...


class TableKind(Protocol):
    """A document naming a CSV that apply uploads whole; the API cannot read it back, so a
    baseline (a git ref, or the record of the last upload) tells what changed."""

    name: str
    schema: str

    def read(self, c: DocumentCheck) -> CustomPropertiesTable | None: ...

    def change(
        self,
        directory: Path,
        table: CustomPropertiesTable,
        baseline_ref: str | None,
        target: UploadTarget,
    ) -> CustomPropertiesChange: ...

    def record_upload(
        self, directory: Path, table: CustomPropertiesTable, target: UploadTarget
    ) -> None: ...

    def uploaded_digest(self, directory: Path, target: UploadTarget) -> str | None:
        """The digest of the table last uploaded from ``directory`` to ``target``, None when
        unknown."""
        ...


# --- checking one document ---------------------------------------------------------------------


@dataclass
class DocumentCheck:
    """One document being checked: where its problems go, what it gives the hygiene check, and
    where values read from files came from."""

    problems: list[Problem]
    doc: Document
    root: Path  # the desired-state directory: files are read only inside it
    kind: str | None = None
    name: str | None = None
    sources: dict[str, Location] = field(default_factory=dict)  # tag key -> file reference
    value_lists: list[ValueList] = field(default_factory=list)
    tag_keys: list[TagKey] = field(default_factory=list)

    @property
    def data(self) -> Any:
        return self.doc.data

    def at(self, path: DocPath, *, key: bool = False) -> Location:
        line, column = self.doc.locate(path, key=key)
        return Location(self.doc.file, line, column)

    def field(self, path: DocPath) -> str:
        from reconciler.schemas import field_path

        return field_path(self.doc.data, path)

    def add(
        self,
        severity: Severity,
        path: DocPath,
        message: str,
        *,
        on_key: bool = False,
        at: Location | None = None,
        related: Location | None = None,
    ) -> None:
        self.problems.append(
            Problem(
                severity,
                at if at is not None else self.at(path, key=on_key),
                message,
                kind=self.kind,
                name=self.name,
                field=self.field(path),
                related=related,
            )
        )

    def error(self, path: DocPath, message: str, **kw: Any) -> None:
        self.add("error", path, message, **kw)

    def warning(self, path: DocPath, message: str, **kw: Any) -> None:
        self.add("warning", path, message, **kw)

    def repeats(self, path: DocPath, values: Any, what: str) -> None:
        """Inline duplicates in a set-like list are errors (the author wrote them twice)."""
        if not isinstance(values, list):
            return
        first: dict[Any, int] = {}
        repeated: list[int] = []
        for i, value in enumerate(values):
            if not isinstance(value, str):
                continue
            if value in first:
                repeated.append(i)
            else:
                first[value] = i
        for i in repeated[:MAX_REPEATS_LISTED]:
            line = self.doc.locate((*path, first[values[i]]))[0]
            self.error((*path, i), f'{what} "{values[i]}" is repeated (first at line {line})')
        if len(repeated) > MAX_REPEATS_LISTED:
            self.error(path, f"and {len(repeated) - MAX_REPEATS_LISTED} more repeated values")


def expand(node: Any, spec: FieldPath, prefix: DocPath = ()) -> Iterable[tuple[DocPath, Any]]:
    """Every place in a document that a field path names, with its value."""
    if not spec:
        yield prefix, node
        return
    head, rest = spec[0], spec[1:]
    if head == "*" and isinstance(node, dict):
        for key, child in node.items():
            yield from expand(child, rest, (*prefix, key))
    elif head == "[]" and isinstance(node, list):
        for i, child in enumerate(node):
            yield from expand(child, rest, (*prefix, i))
    elif isinstance(node, dict) and head in node:
        yield from expand(node[head], rest, (*prefix, head))


# --- export --------------------------------------------------------------------------------------


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


GENERIC: Any = _Marker("GENERIC")  # export_attribute: the generic rule decides
OMIT: Any = _Marker("OMIT")  # export_attribute: the attribute is left out


@dataclass
class ExportContext:
    """One object being exported: what kind modules need to write files and warnings."""

    ref: str  # 'Kind "name"', for warnings
    file_slug: str  # the document's file name without .yaml
    folder: str
    inline_limit: int
    files: dict[str, str]  # path relative to the export directory -> text
    warnings: list[str]


def slug(name: str) -> str:
    """A file name from an object name: ASCII, lower case, dashes; never empty."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:60].rstrip("-") or "unnamed"


def sorted_list(values: Iterable[Any]) -> list[Any]:
    """A list sorted for a file, whatever odd live data it holds (numbers beside strings,
    objects): by type, then text."""
    items = list(values)
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=lambda v: (type(v).__name__, str(v)))


def is_default(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether export may leave a value out: it equals the schema's default (lists as sets)."""
    if "default" not in schema:
        return False
    default = schema["default"]
    if isinstance(value, list) and isinstance(default, list):
        return sorted(map(str, value)) == sorted(map(str, default))
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default) and value == default
    return bool(value == default)
