"""Validation problems as text lines or JSON.

Names, fields, values and paths come from the files: each line is escaped as one visible line
(``render.escape``), so no problem can colour the terminal, start a line of its own or send a
workflow command to a CI log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reconciler.model import Problem
from reconciler.render.escape import clean, json_dumps
from reconciler.render.escape import line as safe_line

PathDisplay = Callable[[Path], str]


def severity(problem: Problem, strict: bool) -> str:
    """``--strict`` makes warnings errors; a note stays a note (it reports, it never fails)."""
    if strict and problem.severity == "warning":
        return "error"
    return problem.severity


def line(problem: Problem, show: PathDisplay, strict: bool = False) -> str:
    """``file.yaml:LINE:COL: Kind "name": field.path: message``; warnings and notes say so."""
    parts = []
    loc = problem.location
    if loc is not None:
        where = show(loc.file)
        if loc.line:
            where += f":{loc.line}:{loc.column}"
        parts.append(where)
    level = severity(problem, strict)
    if level != "error":
        parts.append(level)
    if problem.kind:
        parts.append(
            f'{problem.kind} "{problem.name}"' if problem.name is not None else problem.kind
        )
    if problem.field:
        parts.append(problem.field)
    parts.append(problem.message + _related(problem, show))
    return safe_line(clean(": ".join(parts)))


def _related(problem: Problem, show: PathDisplay) -> str:
    rel = problem.related
    if rel is None:
        return ""
    return f"; first at {show(rel.file)}:{rel.line}:{rel.column}"


def as_dict(problem: Problem, show: PathDisplay, strict: bool = False) -> dict[str, Any]:
    loc = problem.location
    return {
        "severity": severity(problem, strict),
        "file": show(loc.file) if loc else None,
        "line": loc.line if loc else None,
        "column": loc.column if loc else None,
        "kind": problem.kind,
        "name": problem.name,
        "field": problem.field or None,
        "message": problem.message + _related(problem, show),
        "rule": problem.rule or None,  # "hygiene/variant", ...
        "suggestion": problem.hygiene.suggestion if problem.hygiene else None,
    }


def as_json(
    problems: Sequence[Problem], show: PathDisplay, strict: bool, summary: dict[str, Any]
) -> str:
    return json_dumps(
        dict(summary, problems=[as_dict(p, show, strict) for p in problems]), indent=2
    )
