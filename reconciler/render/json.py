"""The plan as JSON: the versioned plan document (docs/plan-json.md). Controls, invisible
characters and lone surrogates in names and values are JSON escapes (``render.escape``)."""

from __future__ import annotations

from reconciler.model import Plan
from reconciler.planfile import plan_to_dict
from reconciler.render.escape import json_dumps


def render(plan: Plan) -> str:
    return json_dumps(plan_to_dict(plan), indent=2)
