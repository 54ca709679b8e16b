"""Literal plans for the renderers: one of everything, refused, partial, empty, hostile, and
plans built from diff cases. The text, markdown and GitHub tests render the same plans."""

from __future__ import annotations

from pathlib import Path

from reconciler.model import (
    Change,
    CustomPropertiesChange,
    FieldChange,
    Plan,
    Ref,
    Unmanaged,
)
from tests.helpers.diff_cases import CASES, run_case

API = "https://api.infracost.io/v1"
CASE_PLANS = (
    "governance-policy",
    "secrets",
    "protect",
    "targets",
    "unpinned-rename-is-a-create",
    "prune-limit",
)
HOSTILE_NAMES = (
    "Name with `back``ticks` and ```fences```",
    "</details><details open><summary>click</summary>",
    "ping @acme/security-team and @octocat",
    "<!-- hidden --> comment",
    "#123 | pipe | table |\n## injected heading",
    "\x1b[31mred\x1b[0m and \u202eevil",
    "<img src=x onerror=alert(1)>",
)


def object_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _values(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}-{i:05d}" for i in range(n))


def _tag(key: str, allowed: tuple[str, ...], value_type: str = "LIST") -> dict[str, object]:
    return {
        "allowedRegex": "",
        "allowedValues": list(allowed),
        "key": key,
        "mandatory": True,
        "message": "",
        "valueType": value_type,
    }


def example_plan() -> Plan:
    """One of everything, at realistic sizes (4,981 values; a removed tag with 100,000)."""
    cost_centers = _values("CC", 4981)
    return Plan(
        org="acme",
        api=API,
        dir="governance/acme",
        changes=(
            Change(
                "create",
                Ref("TaggingPolicy", "Cost center"),
                fields=(
                    FieldChange("name", after="Cost center", governance="neutral"),
                    FieldChange("message", after="Tag every resource.", governance="neutral"),
                    FieldChange("prComment", after=True, governance="neutral"),
                    FieldChange("blockPr", after=False, governance="neutral"),
                    FieldChange(
                        "filters",
                        after={
                            "projects": {"exclude": [], "include": []},
                            "repos": {"exclude": [], "include": ["acme/infra-*"]},
                        },
                        governance="neutral",
                    ),
                    FieldChange(
                        "tags",
                        after={"cost_center": _tag("cost_center", cost_centers)},
                        governance="neutral",
                    ),
                ),
                governance="tightening",
            ),
            Change(
                "update",
                Ref("TaggingPolicy", "Application ID", object_id(1)),
                fields=(
                    FieldChange(
                        "tags[app_id].allowedValues",
                        added=("APP-5001", "APP-5002", "APP-5003"),
                        removed=("APP-0042",),
                        unchanged=4981,
                        is_set=True,
                        governance="mixed",
                    ),
                ),
                governance="mixed",
            ),
            Change(
                "update",
                Ref("Guardrail", "Production cost limit", object_id(2)),
                fields=(
                    FieldChange("increaseThreshold", 100, 50, governance="tightening"),
                    FieldChange(
                        "webhookUrl",
                        "sha256:6a03edf49689",
                        "sha256:0cd5797b227b",
                        secret=True,
                        governance="neutral",
                    ),
                ),
                governance="tightening",
            ),
            Change(
                "update",
                Ref("TaggingPolicy", "Owner", object_id(3)),
                fields=(
                    FieldChange(
                        "tags[legacy_owner]",
                        before=_tag("legacy_owner", _values("OWNER", 100_000)),
                        after=None,
                        governance="loosening",
                    ),
                    FieldChange(
                        "tags[owner].allowedValues",
                        added=_values("TEAM", 25),
                        unchanged=3,
                        is_set=True,
                        governance="loosening",
                    ),
                ),
                governance="loosening",
            ),
            Change(
                "update",
                Ref("Guardrail", "Cost review", object_id(4)),
                fields=(FieldChange("scope", "PROJECT", "PULL_REQUEST", governance="unknown"),),
                governance="unknown",
            ),
            Change(
                "update",
                Ref("Guardrail", "Renamed limit", object_id(5)),
                fields=(FieldChange("name", "Old limit", "Renamed limit", governance="neutral"),),
                governance="neutral",
                reason='renamed from "Old limit"',
            ),
            Change(
                "delete",
                Ref("Guardrail", "Legacy limit", object_id(6)),
                governance="loosening",
                reason="absent: true",
            ),
            Change("no-op", Ref("Guardrail", "Kept", object_id(7))),
        ),
        unmanaged=(
            Unmanaged(Ref("Guardrail", "Made in the UI", object_id(8))),
            Unmanaged(
                Ref("Guardrail", "Old name", object_id(9)),
                f'possibly renamed to "New name"; add id: {object_id(9)} to rename it in place',
            ),
        ),
        warnings=(
            "TaggingPolicy/Owner: tags[owner] has attributes reconciler does not manage "
            "(severity); they are kept",
        ),
        custom_properties=CustomPropertiesChange(
            "update",
            "origin/main",
            added=("APP-1001", "APP-1002"),
            changed=("APP-0007",),
            digest="sha256:" + "0" * 64,
            rows=4983,
        ),
    )


def refused_plan() -> Plan:
    return Plan(
        org="acme",
        api="sandbox:/work/examples/.reconciler/sandbox.db",
        dir="examples",
        changes=tuple(
            Change(
                "delete",
                Ref("Guardrail", f"Old {i}", object_id(100 + i)),
                governance="loosening",
                reason="prune: not declared",
            )
            for i in range(3)
        ),
        errors=(
            "Set allowMassDelete: true in reconciler.yaml (or pass --allow-mass-delete) if you "
            "mean it: the plan deletes every live Guardrail (3)",
            "Keep Guardrail/Crown jewels declared, or remove its protect: true first: "
            "protect: true forbids deleting it",
        ),
    )


def partial_plan() -> Plan:
    return Plan(
        org="acme",
        api="sandbox",
        dir=".",
        changes=(
            Change(
                "update",
                Ref("Guardrail", "B", object_id(11)),
                fields=(FieldChange("totalThreshold", 2, 1, governance="tightening"),),
                governance="tightening",
            ),
            Change(
                "create",
                Ref("Guardrail", "Hook"),
                fields=(
                    FieldChange("name", after="Hook", governance="neutral"),
                    FieldChange("webhookUrl", after=None, secret=True, governance="neutral"),
                    FieldChange(
                        "mailingListEmails",
                        added=("finops@acme-inc.com",),
                        is_set=True,
                        governance="neutral",
                    ),
                ),
                governance="tightening",
                send={"webhookUrl": {"fromEnv": "HOOK_URL", "default": None, "fingerprint": None}},
                unresolved=("HOOK_URL",),
            ),
        ),
        partial=True,
        targets=("Guardrail/B", "Guardrail/Hook"),
        excludes=("Guardrail/id:" + object_id(12),),
        custom_properties=CustomPropertiesChange("sync", "none", rows=120),
    )


def no_changes_plan() -> Plan:
    return Plan(
        org="acme",
        api=API,
        dir=".",
        changes=(Change("no-op", Ref("Guardrail", "Kept", object_id(7))),),
        custom_properties=CustomPropertiesChange("no-op", "origin/main", rows=3),
    )


def hostile_plan() -> Plan:
    """Names, values and messages that try to escape their block or ping someone."""
    changes = [
        Change(
            "update",
            Ref("TaggingPolicy", name, object_id(20 + i)),
            fields=(
                FieldChange(
                    f"tags[{name}].allowedValues",
                    added=(name, "@octocat", "`"),
                    removed=("</details>",),
                    unchanged=1,
                    is_set=True,
                    governance="mixed",
                ),
                FieldChange("message", "old", name, governance="neutral"),
            ),
            governance="mixed",
            reason=f'renamed from "{name}"',
        )
        for i, name in enumerate(HOSTILE_NAMES)
    ]
    return Plan(
        org="acme --> <b>@org/team</b>",
        api="https://api.example.com/`v1`",
        dir="dirs/<!-- x -->\n@team",
        changes=tuple(changes),
        unmanaged=tuple(
            Unmanaged(Ref("Guardrail", n, object_id(40)), hint=n) for n in HOSTILE_NAMES
        ),
        warnings=tuple(f"warning about {n}" for n in HOSTILE_NAMES),
        errors=("```\n</details>\n@acme/admins #1 <!--",),
        partial=True,
        targets=("Guardrail/`x`", "Guardrail/@org/team"),
    )


LITERAL_PLANS = {
    "example": example_plan,
    "refused": refused_plan,
    "partial": partial_plan,
    "no-changes": no_changes_plan,
    "hostile": hostile_plan,
}
ALL_PLANS = (*LITERAL_PLANS, *(f"case-{n}" for n in CASE_PLANS))


def plan_named(name: str, tmp: Path) -> Plan:
    """A literal plan by name, or ``case-NAME``: the plan of that diff case."""
    if name.startswith("case-"):
        plan, _ = run_case(CASES / f"{name.removeprefix('case-')}.yaml", tmp)
        return plan
    return LITERAL_PLANS[name]()
