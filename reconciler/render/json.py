"""The plan as JSON: the versioned plan document (docs/plan-json.md)."""

from __future__ import annotations

import json

from reconciler.model import Plan
from reconciler.planfile import plan_to_dict


def render(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False)
