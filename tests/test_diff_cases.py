"""Literal-data cases for the pure diff: desired YAML + live objects in, a Plan out.

Each ``tests/cases/diff/<case>.yaml`` has:
- ``desired``: the YAML documents of a desired-state directory (as a user writes them);
- ``live``: ``{Kind: [{id, attributes}]}``, filled with the API's read defaults unless
  ``live_defaults: false`` (so an attribute can be missing on read);
- ``options`` (prune, pruneLimit, allowMassDelete, targets, excludes) and ``env``;
- ``expect``: the plan summarised one line per change, field, unmanaged object, error and
  warning (see ``summarize``); ``send`` optionally pins what apply would send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import FieldChange, Plan
from tests.helpers.diff_cases import CASES, run_case
from tests.helpers.golden import regenerating


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def describe(fc: FieldChange) -> str:
    if fc.is_set:
        parts = []
        if fc.added:
            parts.append("+" + _value(list(fc.added)))
        if fc.removed:
            parts.append("-" + _value(list(fc.removed)))
        parts.append(f"={fc.unchanged}")
        body = " ".join(parts)
    else:
        body = f"{_value(fc.before)} -> {_value(fc.after)}"
    return f"  {fc.path}: {body} [{fc.governance}]"


def summarize(plan: Plan) -> list[str]:
    lines = []
    for c in plan.changes:
        head = f"{c.action} {c.ref}"
        if c.action != "no-op":
            head += f" [{c.governance}]"
        if c.reason:
            head += f" ({c.reason})"
        if c.unresolved:
            head += f" unresolved={','.join(c.unresolved)}"
        lines.append(head)
        if c.action == "update":
            lines.extend(describe(f) for f in c.fields)
    lines += [f"unmanaged {u.ref}" + (f": {u.hint}" if u.hint else "") for u in plan.unmanaged]
    lines += [f"error: {e}" for e in plan.errors]
    lines += [f"warning: {w}" for w in plan.warnings]
    return lines


@pytest.mark.parametrize("name", sorted(p.stem for p in CASES.glob("*.yaml")), ids=str)
def test_diff_case(name: str, tmp_path: Path) -> None:
    plan, case = run_case(CASES / f"{name}.yaml", tmp_path)
    if regenerating():  # rewrite the trailing expect block; read it before committing
        text = (CASES / f"{name}.yaml").read_text()
        head = text[: text.index("expect: |")]
        body = "".join(f"  {line}\n" for line in summarize(plan))
        (CASES / f"{name}.yaml").write_text(head + "expect: |\n" + body)
        case["expect"] = "\n".join(summarize(plan))
    assert summarize(plan) == case["expect"].splitlines()
    assert_coherent(plan, case)


def assert_coherent(plan: Plan, case: dict[str, Any]) -> None:
    """What every plan owes, whatever its ``expect`` says (REGENERATE rewrites that): one change
    at most per live object and never an id that is not live, an id to every update and delete
    and none to a create, a field to every update, a reason to every delete; and, when nothing
    narrows or refuses it, every live object accounted for (a change or unmanaged)."""
    live = {o["id"].lower() for objects in (case.get("live") or {}).values() for o in objects}
    touched = [c.ref.id.lower() for c in plan.changes if c.ref.id and c.action != "create"]
    touched += [u.ref.id.lower() for u in plan.unmanaged if u.ref.id]
    assert len(touched) == len(set(touched)), f"a live object twice: {sorted(touched)}"
    assert set(touched) <= live, f"ids that are not live: {set(touched) - live}"
    for c in plan.changes:
        assert c.action != "create" or c.ref.id is None, c
        assert c.action not in ("update", "delete") or c.ref.id is not None, c
        assert c.action != "update" or c.fields, c
        assert c.action != "delete" or c.reason, c
    if not plan.partial and not plan.errors:
        assert set(touched) == live, f"live objects left out: {live - set(touched)}"
    for ref, expected in (case.get("send") or {}).items():
        (change,) = [c for c in plan.changes if str(c.ref) == ref]
        assert change.send == expected
