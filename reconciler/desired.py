"""Documents -> desired resources, with every problem found at once and located.

Schema checks come from ``schemas``; this module adds what is true of every kind (unique
identities and pins, ``absent``, names) and asks each kind's module for its own rules
(``ObjectKind.check``: values read from files, repeated set members, regexes, thresholds...).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler import kinds
from reconciler.config import ConfigFile, load_config
from reconciler.discover import refusal, resource_files
from reconciler.documents import (
    DEFAULT_LIMITS,
    Document,
    Limits,
    LoadError,
    load_documents,
    recording,
)
from reconciler.errors import ConfigError, InputError
from reconciler.gcpause import gc_paused
from reconciler.hygiene import report as hygiene_report
from reconciler.kinds.base import TOOL_ONLY, DocumentCheck, ObjectKind
from reconciler.model import (
    CustomPropertiesTable,
    DesiredState,
    Location,
    Problem,
    Resource,
    SecretRef,
)
from reconciler.schemas import load_schema, schema_errors, with_defaults
from reconciler.settings import (
    CONFIG_NAME,
    ENV_API,
    ENV_ORG,
    Settings,
    SettingsConflict,
    resolve,
)

_ABSENT_KEYS = {"kind", "name", "id", "absent"}

_ENV_OF = {"org": ENV_ORG, "api": ENV_API}  # the settings the environment may set


@dataclass
class _Seen:
    """What is checked across the whole directory."""

    names: dict[tuple[str, str], Location] = field(default_factory=dict)
    pins: dict[str, tuple[str, str, Location]] = field(default_factory=dict)
    tables: dict[str, Location] = field(default_factory=dict)  # one document per table kind
    # for the hygiene check, from documents without errors
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
    with gc_paused(), recording() as read:
        state = _read_desired(directory, exclude, limits, hygiene or {})
    return replace(state, files_read=tuple(dict.fromkeys(read)))


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
                    "directory that holds this file, or leave it out with exclude: "
                    f"{json.dumps([inner + '/**'])} in {CONFIG_NAME}",
                )
            )
            continue
        refused = refusal(directory, file)
        if refused is not None:
            problems.append(Problem("error", Location(file, 1, 1), refused))
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
    return DesiredState(
        tuple(resources),
        table,
        tuple(problems),
        len(files),
        tuple(found),
        value_lists=tuple(seen.value_lists),
    )


def _check_document(
    doc: Document, root: Path, seen: _Seen, problems: list[Problem]
) -> Resource | CustomPropertiesTable | None:
    c = DocumentCheck(problems, doc, root)
    before = len(problems)
    for path, key, (line, column), first in doc.duplicate_keys:
        c.error(
            (*path, key),
            f'duplicate key "{key}" (first at line {first})',
            at=Location(doc.file, line, column),
        )
    data = doc.data
    if data is None:
        return None  # an empty document, such as a trailing "---"
    if not isinstance(data, dict):
        c.error((), "a document must be a mapping with a kind")
        return None
    kind_name = data.get("kind")
    known = kinds.names()
    if kind_name is None:
        c.error((), f'missing "kind" (one of {", ".join(known)})')
        return None
    if not isinstance(kind_name, str) or kind_name not in known:
        hint = difflib.get_close_matches(str(kind_name), known, n=1)
        more = f'; did you mean "{hint[0]}"?' if hint else f" (one of {', '.join(known)})"
        c.error(("kind",), f'unknown kind "{kind_name}"{more}')
        return None
    c.kind = kind_name
    name = data.get("name")
    c.name = name if isinstance(name, str) else None

    table_kind = kinds.TABLE if kind_name == kinds.TABLE.name else None
    if table_kind is not None:
        errors = schema_errors(table_kind.schema, data)
    else:
        kind = kinds.OBJECT_KINDS[kind_name]
        errors = schema_errors(kind.schema, data, secrets=kind.secret_fields, sets=kind.set_fields)
    for e in errors:
        c.error(e.path, e.message, on_key=e.on_key)

    if table_kind is not None:
        other = seen.tables.get(kind_name)
        if other is not None:
            c.error((), f"only one {kind_name} document is allowed", related=other)
            return None
        seen.tables[kind_name] = c.at(())
        return None if errors else table_kind.read(c)

    kind = kinds.OBJECT_KINDS[kind_name]
    _identity(c, kind, seen)
    if data.get("absent") is True:
        _absent(c, data)
        if errors or not c.name:
            return None
        return Resource(kind.name, c.name, {}, c.at(()), data.get("id"), True, False)

    resolved = kind.check(c)
    if isinstance(name, str) and name != name.strip():
        c.warning(("name",), "has leading or trailing white space")

    if any(p.severity == "error" for p in problems[before:]):
        return None
    seen.value_lists += c.value_lists
    seen.tag_keys += c.tag_keys
    return _resource(c, kind, {**data, **resolved})


def _identity(c: DocumentCheck, kind: ObjectKind, seen: _Seen) -> None:
    data = c.data
    # A pinned document is identified by its id: live objects may share a name (the UI allows
    # it), and export writes each of them with its pin.
    if c.name is not None and not isinstance(data.get("id"), str):
        here = c.at(("name",))
        first = seen.names.get((kind.name, c.name))
        if first is not None:
            c.error(("name",), "declared twice", related=first)
        else:
            seen.names[(kind.name, c.name)] = here
    pin = data.get("id")
    if isinstance(pin, str):
        key = pin.lower()
        other = seen.pins.get(key)
        if other is not None:
            c.error(("id",), f'pins the same object as {other[0]} "{other[1]}"', related=other[2])
        else:
            seen.pins[key] = (kind.name, c.name or "?", c.at(("id",)))


def _absent(c: DocumentCheck, data: dict[str, Any]) -> None:
    for key in data:
        if key == "protect" and data[key] is True:
            c.error((key,), "forbids the deletion that absent: true asks for")
        elif key not in _ABSENT_KEYS and key != "protect":
            c.error((key,), "has no effect with absent: true; remove it", on_key=True)


def _resource(c: DocumentCheck, kind: ObjectKind, data: dict[str, Any]) -> Resource:
    full = with_defaults(load_schema(kind.schema), data)
    for secret in kind.secret_fields:
        value = full.get(secret)
        if isinstance(value, dict):
            full[secret] = SecretRef(value["fromEnv"], value.get("default"))
    attributes = {k: v for k, v in full.items() if k not in TOOL_ONLY}
    return Resource(
        kind=kind.name,
        name=data["name"],
        attributes=attributes,
        location=c.at(()),
        id=data.get("id"),
        absent=False,
        protect=bool(data.get("protect", False)),
        sources=c.sources,
    )


# --- a directory with its settings ---------------------------------------------------------


# Problem.rule of the settings' own problems: where the command runs, not what the files hold
SETTINGS = "settings"
SETTINGS_CONFLICT = "settings/conflict"  # reconciler.yaml and the environment disagree


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

    @property
    def files_read(self) -> tuple[Path, ...]:
        """Every file the desired state was read from: reconciler.yaml, then the state's."""
        config = (self.config.path,) if self.config.path is not None else ()
        return config + self.state.files_read


def prepare(
    directory: Path,
    *,
    flag_org: str | None,
    flag_api: str | None,
    env: Mapping[str, str],
    report_flag_errors: bool = False,
    shown: str | None = None,
    on_settings: Callable[[Settings], None] | None = None,
) -> Prepared:
    """Read and check a desired-state directory and its settings; every problem at once.

    A bad ``--org`` or ``--api`` is not a problem of the files: it raises, unless
    ``report_flag_errors`` (validate), which makes it a problem with no location.
    ``shown`` names the directory in errors (default: its path). ``on_settings`` is called
    with the settings, when they hold, before the resource files are read (plan starts its
    list requests there, so that they are in flight while the files are parsed).
    """
    if not directory.is_dir():
        what = "is a file, not a directory" if directory.exists() else "no such directory"
        raise InputError(f"{shown if shown is not None else directory}: {what}")
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
        if from_flag and not report_flag_errors:
            raise
        # a value the environment set is located nowhere in the files (a conflict is: there)
        from_env = (
            not isinstance(exc, SettingsConflict)
            and exc.field in _ENV_OF
            and bool(env.get(_ENV_OF[exc.field]))
        )
        where = None if from_flag or from_env else config.location(exc.field)
        rule = SETTINGS_CONFLICT if isinstance(exc, SettingsConflict) else SETTINGS
        problems.append(Problem("error", where, str(exc), field=exc.field or "", rule=rule))
    if settings is not None and on_settings is not None:
        on_settings(settings)
    state = read_desired(
        directory,
        exclude=tuple(config.data.get("exclude", ())),
        hygiene=config.data.get("hygiene"),
    )
    problems.extend(state.problems)
    problems.sort(key=Problem.sort_key)
    return Prepared(directory, config, settings, state, problems)
