"""The plan stage: desired resources and live objects compared kind by kind (``diff``), the
guards (protect, mass deletion, targets that match nothing), the custom properties upload and
the hygiene findings the change introduces. No printing, no argv; ``build_plan`` is pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from reconciler import kinds
from reconciler.desired import Prepared
from reconciler.diff import diff_kind
from reconciler.hygiene import report as hygiene_report
from reconciler.kinds.base import ObjectKind
from reconciler.model import (
    Change,
    CustomPropertiesChange,
    LiveObject,
    Plan,
    Problem,
    Ref,
    Resource,
    Unmanaged,
)


@dataclass(frozen=True)
class Target:
    """``Kind/Name`` (split at the first ``/``, exact) or ``Kind/id:UUID``."""

    kind: str
    name: str | None = None
    id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        kind, sep, rest = text.partition("/")
        if not sep or not rest or kind not in kinds.names():
            raise ValueError(
                f'"{text}" is not Kind/Name or Kind/id:UUID (kinds: {", ".join(kinds.names())})'
            )
        if rest.startswith("id:"):
            return cls(kind, id=rest[3:].lower())
        return cls(kind, name=rest)

    def matches(self, ref: Ref) -> bool:
        if self.kind != ref.kind:
            return False
        if self.id is not None:
            return ref.id is not None and ref.id.lower() == self.id
        return ref.name == self.name


@dataclass(frozen=True)
class Options:
    prune: bool | tuple[str, ...] = False
    prune_limit: int = 5
    allow_mass_delete: bool = False
    targets: tuple[Target, ...] = ()
    excludes: tuple[Target, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # the live values of updates and deletes, for saved plans and JSON (sorting and hashing a
    # list of 100,000 values is not free); a plan that is only shown does without
    keep_live: bool = True

    def selected(self, ref: Ref) -> bool:
        if self.targets and not any(t.matches(ref) for t in self.targets):
            return False
        return not any(t.matches(ref) for t in self.excludes)


def build_plan(
    desired: Sequence[Resource],
    live: Mapping[str, Sequence[LiveObject]],
    options: Options,
    *,
    org: str,
    api: str,
    directory: str,
    custom_properties: CustomPropertiesChange | None = None,
) -> Plan:
    changes: list[Change] = []
    unmanaged: list[Unmanaged] = []
    warnings: list[str] = []
    errors: list[str] = []
    for kind in kinds.OBJECT_KINDS.values():
        docs = [r for r in desired if r.kind == kind.name]
        found = diff_kind(
            kind,
            docs,
            list(live.get(kind.name, ())),
            selected=options.selected,
            prune=_prunes(kind, docs, options.prune),
            env=options.env,
            keep_live=options.keep_live,
        )
        changes += found.changes
        unmanaged += found.unmanaged
        warnings += found.warnings
        errors += found.errors
    _guards(desired, live, options, changes, errors)
    _unmatched_targets(desired, live, options, errors)
    return Plan(
        org=org,
        api=api,
        dir=directory,
        changes=tuple(changes),
        unmanaged=tuple(unmanaged),
        warnings=tuple(warnings),
        errors=tuple(errors),
        partial=bool(options.targets or options.excludes),
        targets=tuple(_show_target(t) for t in options.targets),
        excludes=tuple(_show_target(t) for t in options.excludes),
        allow_mass_delete=options.allow_mass_delete,
        custom_properties=custom_properties,
    )


def _unmatched_targets(
    desired: Sequence[Resource],
    live: Mapping[str, Sequence[LiveObject]],
    options: Options,
    errors: list[str],
) -> None:
    """A --target or --exclude that names nothing is a typo, not a quiet "No changes."."""
    if not options.targets and not options.excludes:
        return
    refs = [Ref(r.kind, r.name, r.id) for r in desired]
    refs += [
        Ref(kind, str(o.attributes.get("name", "")), o.id)
        for kind, objects in live.items()
        for o in objects
    ]
    for flag, targets in (("--target", options.targets), ("--exclude", options.excludes)):
        for t in targets:
            if t.kind == kinds.TABLE.name:
                continue  # it names an upload, which has no name
            if not any(t.matches(ref) for ref in refs):
                errors.append(
                    f"{flag} {_show_target(t)} matches no document and no live object "
                    "(names are exact and case-sensitive)"
                )


def _show_target(t: Target) -> str:
    return f"{t.kind}/id:{t.id}" if t.id is not None else f"{t.kind}/{t.name}"


def _prunes(kind: ObjectKind, docs: Sequence[Resource], prune: bool | tuple[str, ...]) -> bool:
    if isinstance(prune, tuple):
        return kind.name in prune
    return prune and bool(docs)


# --- guards ------------------------------------------------------------------------------------


def _guards(
    desired: Sequence[Resource],
    live: Mapping[str, Sequence[LiveObject]],
    options: Options,
    changes: list[Change],
    errors: list[str],
) -> None:
    deletes = [c for c in changes if c.action == "delete"]
    protected = [r for r in desired if r.protect]
    for change in deletes:
        for r in protected:
            same_id = r.id and change.ref.id and r.id.lower() == change.ref.id.lower()
            if r.kind == change.ref.kind and (same_id or r.name == change.ref.name):
                errors.append(f"{change.ref}: protect: true forbids deleting it")
    if options.allow_mass_delete:
        return
    for kind_name, objects in live.items():
        gone = sum(1 for c in deletes if c.ref.kind == kind_name)
        if objects and gone == len(objects):
            errors.append(
                f"the plan deletes every live {kind_name} ({gone}); "
                "pass --allow-mass-delete if that is what you want"
            )
    if len(deletes) > options.prune_limit:
        errors.append(
            f"the plan deletes {len(deletes)} objects, more than pruneLimit "
            f"({options.prune_limit}); pass --allow-mass-delete if that is what you want"
        )


# --- a prepared directory against the live state ---------------------------------------------


def make_plan(
    prepared: Prepared,
    live: Mapping[str, list[LiveObject]],
    options: Options,
    *,
    org: str,
    api: str,
    baseline: str | None,
    display_dir: str,
) -> Plan:
    state = prepared.state
    cp = None
    table = state.custom_properties
    if table is not None and _custom_properties_selected(options):
        cp = kinds.TABLE.change(prepared.directory, table, baseline)
        cp = replace(cp, file=_relative(table.file, prepared.directory).as_posix())
    relative: dict[Path, Path] = {}  # many resources share a file: one relative_to per file
    for r in state.resources:
        file = r.location.file
        if file not in relative:
            relative[file] = _relative(file, prepared.directory)
    resources = [
        replace(r, location=replace(r.location, file=relative[r.location.file]))
        for r in state.resources
    ]
    plan = build_plan(
        resources,
        live,
        options,
        org=org,
        api=api,
        directory=display_dir,
        custom_properties=cp,
    )
    introduced = hygiene_report.introduced(state.hygiene, plan.changes)
    if introduced:
        lines = tuple(_hygiene_line(p, prepared.directory) for p in introduced)
        plan = replace(plan, hygiene=lines)
    return plan


def _custom_properties_selected(options: Options) -> bool:
    """A partial plan leaves the upload out unless a target names the table kind."""
    if any(t.kind == kinds.TABLE.name for t in options.excludes):
        return False
    return not options.targets or any(t.kind == kinds.TABLE.name for t in options.targets)


def _hygiene_line(problem: Problem, directory: Path) -> str:
    """``data/apps.csv:7: Kind "name": field: "A" and "a" differ ...``"""
    loc = problem.location
    where = f"{_relative(loc.file, directory).as_posix()}:{loc.line}: " if loc else ""
    message = problem.message.removeprefix(hygiene_report.PREFIX)
    return f'{where}{problem.kind} "{problem.name}": {problem.field}: {message}'


def _relative(file: Path, directory: Path) -> Path:
    """Sources in plans are relative to the directory: no machine's paths in plan files."""
    try:
        return file.relative_to(directory)  # files found below the directory: the usual case
    except ValueError:
        pass
    try:
        return file.resolve().relative_to(directory.resolve())
    except ValueError:
        return file
