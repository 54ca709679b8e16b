"""The plan stage: desired resources and live objects compared kind by kind (``diff``), the
guards (protect, mass deletion, targets that match nothing), the custom properties upload and
the hygiene findings the change introduces. No printing, no argv; ``build_plan`` is pure."""

from __future__ import annotations

import difflib
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
    Location,
    Note,
    Plan,
    Problem,
    Ref,
    Resource,
    Unmanaged,
    UploadTarget,
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
            same = [k for k in kinds.names() if k.lower() == kind.lower()]
            hint = f'; did you mean "{same[0]}/{rest}"?' if sep and rest and same else ""
            raise ValueError(
                f'"{text}" is not Kind/Name or Kind/id:UUID (kinds: {", ".join(kinds.names())})'
                + hint
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
    # False where the secrets are not available (a plan against a snapshot, --no-secrets):
    # fromEnv values are unknown and only their references are compared
    secrets_available: bool = True
    mass_delete_setting: bool = False  # allowMassDelete: true in reconciler.yaml
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
            secrets_available=options.secrets_available,
            keep_live=options.keep_live,
        )
        changes += found.changes
        unmanaged += found.unmanaged
        warnings += found.warnings
        if options.prune is True and not docs and found.unmanaged:
            warnings.append(_not_pruned(kind.name, len(found.unmanaged)))
        errors += found.errors
    _guards(desired, live, options, changes, errors)
    _unmatched_targets(desired, live, options, errors)
    if options.mass_delete_setting:
        warnings.append(
            "allowMassDelete: true in reconciler.yaml: the mass-delete guard is off for this "
            "commit; remove it once this change is applied"
        )
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
        secrets_compared=options.secrets_available,
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
                close = _close_name(t, refs)
                hint = f'; did you mean "{t.kind}/{close}"?' if close is not None else ""
                errors.append(
                    f"Correct or remove {flag} {_show_target(t)}: it matches no document and "
                    f"no live object (names are exact and case-sensitive){hint}"
                )


def _close_name(t: Target, refs: Sequence[Ref]) -> str | None:
    """The name of that kind the user most likely meant: the same in another letter case
    first, else the closest spelling."""
    if t.name is None:
        return None
    names = sorted({r.name for r in refs if r.kind == t.kind and r.name})
    folded = [n for n in names if n.casefold() == t.name.casefold()]
    if folded:
        return folded[0]
    lowered = {n.casefold(): n for n in names}
    found = difflib.get_close_matches(t.name.casefold(), lowered, n=1)
    return lowered[found[0]] if found else None


def _show_target(t: Target) -> str:
    return f"{t.kind}/id:{t.id}" if t.id is not None else f"{t.kind}/{t.name}"


def _not_pruned(kind: str, count: int) -> str:
    """Why prune: true (or --prune) left a kind's undeclared objects alone, and what deletes
    them."""
    them = "it, write a document" if count == 1 else f"these {count:,}, write a document each"
    return (
        f"prune deletes no {kind}: no document declares a {kind}, and prune covers only the "
        "kinds the files declare (so a directory that lost its files cannot empty the org); "
        f"to delete {them} with absent: true, or set prune: [{kind}] in reconciler.yaml"
    )


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
                errors.append(
                    f"Keep {change.ref} declared, or remove its protect: true first: "
                    "protect: true forbids deleting it"
                )
    if options.allow_mass_delete:
        return
    for kind_name, objects in live.items():
        gone = sum(1 for c in deletes if c.ref.kind == kind_name)
        if objects and gone == len(objects):
            errors.append(f"{ALLOW_MASS_DELETE} if you mean it: {EVERY_LIVE}{kind_name} ({gone})")
    if len(deletes) > options.prune_limit:
        errors.append(
            f"{ALLOW_MASS_DELETE}, or raise pruneLimit, if you mean it: the plan deletes "
            f"{len(deletes)} objects, {OVER_LIMIT} ({options.prune_limit})"
        )


# The mass-delete refusals, as renderers find the deletions that caused them
ALLOW_MASS_DELETE = "Set allowMassDelete: true in reconciler.yaml (or pass --allow-mass-delete)"
EVERY_LIVE = "the plan deletes every live "
OVER_LIMIT = "more than pruneLimit"


def refused(errors: Sequence[str], change: Change) -> bool:
    """Whether this change is one a refusal names (by ``Kind/Name``) or counts (a deletion
    that makes a mass delete)."""
    if any(f"{change.ref} " in e or f"{change.ref}:" in e for e in errors):
        return True
    if change.action != "delete":
        return False
    every = f"{EVERY_LIVE}{change.ref.kind} ("
    return any(every in e or OVER_LIMIT in e for e in errors)


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
        target = UploadTarget.of(org, api)
        cp = kinds.TABLE.change(prepared.directory, table, baseline, target)
        cp = replace(cp, file=_relative(table.file, prepared.directory).as_posix())
    relative: dict[Path, Path] = {}  # many resources share a file: one relative_to per file
    for r in state.resources:
        file = r.location.file
        if file not in relative:
            relative[file] = _relative(file, prepared.directory)
    resources = [
        replace(r, location=Location(relative[r.location.file], r.location.line, r.location.column))
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
        notes = tuple(_note(p, prepared.directory) for p in introduced)
        plan = replace(plan, hygiene=lines, hygiene_notes=notes)
    warnings = [
        p for p in prepared.problems if p.severity == "warning" and not p.rule.startswith("hygiene")
    ]
    if warnings:
        plan = replace(plan, validation=tuple(_note(p, prepared.directory) for p in warnings))
    return plan


def _note(problem: Problem, directory: Path) -> Note:
    loc = problem.location
    return Note(
        file=_relative(loc.file, directory).as_posix() if loc else "",
        line=loc.line if loc else 0,
        message=problem.message.removeprefix(hygiene_report.PREFIX),
        kind=problem.kind or "",
        name=problem.name or "",
        field=problem.field,
        values=problem.hygiene.values if problem.hygiene else (),
        suggestion=problem.hygiene.suggestion if problem.hygiene else "",
    )


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
