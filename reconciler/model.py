"""Frozen data passed between the stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from reconciler.hygiene.report import ValueList

# "note": information (what a where filter kept); never counted, never an error under --strict
Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True, order=True)
class Location:
    file: Path
    line: int = 0  # 0: the file as a whole
    column: int = 0


@dataclass(frozen=True)
class HygieneSubject:
    """What a tag-value hygiene finding is about, so a plan can tell the findings it introduces."""

    places: tuple[tuple[str, str, str], ...]  # (kind, name, tag key) of each value or key involved
    values: tuple[str, ...] = ()  # the values involved; empty for a finding about tag keys
    suggestion: str = ""


@dataclass(frozen=True)
class Problem:
    """One finding of validation, located as precisely as the input allows."""

    severity: Severity
    location: Location | None
    message: str
    kind: str | None = None
    name: str | None = None
    field: str = ""
    related: Location | None = None  # "first at ...": the other place of a duplicate
    rule: str = ""  # a stable name for checks that have one: "hygiene/variant", ...
    hygiene: HygieneSubject | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        if loc is None:
            return ("", 0, 0, self.message)
        return (str(loc.file), loc.line, loc.column, self.message)


@dataclass(frozen=True)
class SecretRef:
    """A secret-valued field read from the environment at plan and apply time."""

    env: str
    default: str | None = None


@dataclass(frozen=True)
class Resource:
    """One desired object: API attributes with schema defaults filled, files already read."""

    kind: str
    name: str
    attributes: dict[str, Any]
    location: Location
    id: str | None = None
    absent: bool = False
    protect: bool = False
    # where each allowed value came from, for messages: tag key -> file location
    sources: dict[str, Location] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomPropertiesTable:
    """The custom properties CSV: header and rows, identified by their first column."""

    location: Location
    file: Path
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    digest: str  # sha256 of the file's bytes


@dataclass(frozen=True)
class DesiredState:
    resources: tuple[Resource, ...]
    custom_properties: CustomPropertiesTable | None
    problems: tuple[Problem, ...]
    files: int
    hygiene: tuple[Problem, ...] = ()  # every hygiene finding (problems holds the first few)
    # Every file read, in order: the resource YAML files and the data files they point at.
    files_read: tuple[Path, ...] = ()
    value_lists: tuple[ValueList, ...] = ()  # every LIST tag's values, as hygiene checks them

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")


# --- the Plan ----------------------------------------------------------------------------

Action = Literal["create", "update", "delete", "no-op"]
Governance = Literal["tightening", "loosening", "mixed", "unknown", "neutral"]


@dataclass(frozen=True)
class Ref:
    """One object: its kind, name and (when known) its live id."""

    kind: str
    name: str
    id: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class FieldChange:
    """One attribute that changes. Sets carry what is added and removed, never what is not."""

    path: str
    before: Any = None
    after: Any = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    is_set: bool = False
    secret: bool = False  # before/after are fingerprints
    governance: Governance = "unknown"


@dataclass(frozen=True)
class Change:
    action: Action
    ref: Ref
    fields: tuple[FieldChange, ...] = ()
    governance: Governance = "neutral"
    # What apply sends: the full attribute set on create, the changed top-level attributes
    # (with unknown nested keys carried over) on update. Secrets appear as {"fromEnv": NAME,
    # "fingerprint": ...}, never as values.
    send: dict[str, Any] | None = None
    live_fingerprint: str | None = None  # of the live object the change was computed from
    # Updates and deletes: that object's managed attributes as planned (canonical, secrets as
    # fingerprints), so that a stale plan can name what changed since.
    live_values: dict[str, Any] | None = None
    reason: str = ""
    unresolved: tuple[str, ...] = ()  # environment variables the change needs and lacks
    source: Location | None = None


@dataclass(frozen=True)
class Unmanaged:
    ref: Ref
    hint: str = ""


@dataclass(frozen=True)
class UploadTarget:
    """Where a custom properties upload goes, as its record keys it: the org and the API (a
    URL, which settings never let carry credentials; or ``sandbox``, the embedded one)."""

    org: str
    api: str

    @classmethod
    def of(cls, org: str, api: str) -> UploadTarget:
        """From a plan's ``org`` and ``api``: a URL, ``sandbox``, or a saved plan's
        ``sandbox:<db>``. A snapshot's ``snapshot:<file>`` is a target no upload went to."""
        if api == "sandbox" or api.startswith("sandbox:"):
            return cls(org, "sandbox")
        return cls(org, api.rstrip("/"))

    def matches(self, entry: Mapping[str, object]) -> bool:
        """Whether a record's ``entry`` is of this target (URLs compared ignoring case)."""
        api = entry.get("api")
        return (
            entry.get("org") == self.org
            and isinstance(api, str)
            and api.rstrip("/").lower() == self.api.lower()
        )


@dataclass(frozen=True)
class CustomPropertiesChange:
    """Custom properties cannot be read back: the CSV is compared with a baseline."""

    status: Literal["no-op", "update", "sync"]  # sync: no baseline, unverifiable
    baseline: str  # where the baseline came from, or "none"
    added: tuple[str, ...] = ()  # first-column values only: other cells may be personal data
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    digest: str = ""
    rows: int = 0
    file: str = ""  # the CSV, relative to the directory


@dataclass(frozen=True)
class Note:
    """A located finding the comment lists: a hygiene finding about what the plan adds, or a
    warning of validation. ``file`` is relative to the directory."""

    file: str
    line: int
    message: str
    kind: str = ""
    name: str = ""
    field: str = ""
    values: tuple[str, ...] = ()  # the values a hygiene finding is about
    suggestion: str = ""

    @property
    def subject(self) -> str:
        """``Kind "name": field``, or what of it is known."""
        out = f'{self.kind} "{self.name}"' if self.kind and self.name else ""
        return f"{out}: {self.field}" if out and self.field else out or self.field


@dataclass(frozen=True)
class Plan:
    org: str
    api: str
    dir: str
    changes: tuple[Change, ...]
    unmanaged: tuple[Unmanaged, ...] = ()
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # the plan is refused: guards, ambiguity, bad pins
    partial: bool = False
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    allow_mass_delete: bool = False
    custom_properties: CustomPropertiesChange | None = None
    hygiene: tuple[str, ...] = ()  # tag-value hygiene findings about values this plan adds
    hygiene_notes: tuple[Note, ...] = ()  # the same findings, as data
    validation: tuple[Note, ...] = ()  # validate's warnings (hygiene aside)
    # where the live state came from when not the API: {"file", "ref", "commit", "takenAt"}
    snapshot: dict[str, str] | None = None
    secrets_compared: bool = True  # False: planned without the fromEnv values (--no-secrets)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        cp = self.custom_properties
        return any(c.action != "no-op" for c in self.changes) or (
            cp is not None and cp.status == "update"
        )


@dataclass(frozen=True)
class LiveObject:
    """One object as the API returned it."""

    id: str
    attributes: dict[str, Any]
