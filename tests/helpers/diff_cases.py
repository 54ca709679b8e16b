"""The diff cases of ``tests/cases/diff/``: one case file in, the plan the pure stages make out.

``tests/test_diff_cases.py`` checks each case's ``expect``; the render tests print some of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reconciler.desired import read_desired
from reconciler.kinds import OBJECT_KINDS
from reconciler.kinds.base import TOOL_ONLY
from reconciler.model import LiveObject, Plan
from reconciler.plan import Options, Target, build_plan
from reconciler.schemas import load_schema, with_defaults

CASES = Path(__file__).resolve().parent.parent / "cases" / "diff"


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
