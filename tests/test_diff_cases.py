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
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.desired import read_desired
from reconciler.plan import Options, Target, build_plan
from reconciler.kinds import OBJECT_KINDS
from reconciler.kinds.base import TOOL_ONLY
from reconciler.model import FieldChange, LiveObject, Plan
from reconciler.schemas import load_schema, with_defaults

CASES = Path(__file__).parent / "cases" / "diff"


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


def _live(case: dict[str, Any]) -> dict[str, list[LiveObject]]:
    out: dict[str, list[LiveObject]] = {}
    for kind, objects in (case.get("live") or {}).items():
        schema = load_schema(OBJECT_KINDS[kind].schema)
        filled = []
        for o in objects:
            attrs = o["attributes"]
            if case.get("live_defaults", True):
                attrs = with_defaults(schema, attrs)
                for key in TOOL_ONLY:
                    attrs.pop(key, None)
            filled.append(LiveObject(o["id"], attrs))
        out[kind] = filled
    return out


def run_case(path: Path, tmp: Path) -> tuple[Plan, dict[str, Any]]:
    case = yaml.safe_load(path.read_text())
    (tmp / "desired.yaml").write_text(case.get("desired") or "")
    state = read_desired(tmp)
    assert not state.errors, [p.message for p in state.errors]
    opts = case.get("options") or {}
    options = Options(
        prune=tuple(opts["prune"])
        if isinstance(opts.get("prune"), list)
        else opts.get("prune", False),
        prune_limit=opts.get("pruneLimit", 5),
        allow_mass_delete=opts.get("allowMassDelete", False),
        targets=tuple(Target.parse(t) for t in opts.get("targets", ())),
        excludes=tuple(Target.parse(t) for t in opts.get("excludes", ())),
        env=case.get("env") or {},
    )
    plan = build_plan(
        state.resources, _live(case), options, org="acme", api="sandbox", directory="."
    )
    return plan, case


@pytest.mark.parametrize("name", sorted(p.stem for p in CASES.glob("*.yaml")), ids=str)
def test_diff_case(name: str, tmp_path: Path) -> None:
    plan, case = run_case(CASES / f"{name}.yaml", tmp_path)
    if os.environ.get("REGENERATE"):  # rewrite the trailing expect block; read it before committing
        text = (CASES / f"{name}.yaml").read_text()
        head = text[: text.index("expect: |")]
        body = "".join(f"  {line}\n" for line in summarize(plan))
        (CASES / f"{name}.yaml").write_text(head + "expect: |\n" + body)
        case["expect"] = "\n".join(summarize(plan))
    assert summarize(plan) == case["expect"].splitlines()
    for ref, expected in (case.get("send") or {}).items():
        (change,) = [c for c in plan.changes if str(c.ref) == ref]
        assert change.send == expected
