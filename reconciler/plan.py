"""The plan stage: desired resources and live objects compared, with the custom properties upload
and the hygiene findings the change introduces. No printing, no argv."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from reconciler.baseline import custom_properties_change
from reconciler.desired import Prepared
from reconciler.diff import Options, build_plan
from reconciler.hygiene import report as hygiene_report
from reconciler.model import LiveObject, Plan, Problem


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
    if state.custom_properties is not None and _custom_properties_selected(options):
        cp = custom_properties_change(prepared.directory, state.custom_properties, baseline)
        cp = replace(
            cp, file=_relative(state.custom_properties.file, prepared.directory).as_posix()
        )
    resources = [
        replace(
            r, location=replace(r.location, file=_relative(r.location.file, prepared.directory))
        )
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
    """A partial plan leaves the upload out unless a target names CustomProperties."""
    if any(t.kind == "CustomProperties" for t in options.excludes):
        return False
    return not options.targets or any(t.kind == "CustomProperties" for t in options.targets)


def _hygiene_line(problem: Problem, directory: Path) -> str:
    """``data/apps.csv:7: TaggingPolicy "Apps": tags[app_id]...: "A" and "a" differ ...``"""
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
