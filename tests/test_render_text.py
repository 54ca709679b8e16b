"""The terminal plan: exact output for literal plans and for plans built from diff cases.

Golden files live in ``tests/golden/text/<plan>.txt``. Regenerate them only after reading the
new output: ``REGENERATE=1 pytest tests/test_render_text.py tests/test_render_markdown.py``.
The literal plans here are shared with ``tests/test_render_markdown.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from reconciler.model import (
    Change,
    CustomPropertiesChange,
    FieldChange,
    Plan,
    Ref,
    Unmanaged,
)
from reconciler.render import text
from tests.test_diff_cases import CASES, run_case

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
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


def _id(n: int) -> str:
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
                Ref("TaggingPolicy", "Application ID", _id(1)),
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
                Ref("Guardrail", "Production cost limit", _id(2)),
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
                Ref("TaggingPolicy", "Owner", _id(3)),
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
                Ref("Guardrail", "Cost review", _id(4)),
                fields=(FieldChange("scope", "PROJECT", "PULL_REQUEST", governance="unknown"),),
                governance="unknown",
            ),
            Change(
                "update",
                Ref("Guardrail", "Renamed limit", _id(5)),
                fields=(FieldChange("name", "Old limit", "Renamed limit", governance="neutral"),),
                governance="neutral",
                reason='renamed from "Old limit"',
            ),
            Change(
                "delete",
                Ref("Guardrail", "Legacy limit", _id(6)),
                governance="loosening",
                reason="absent: true",
            ),
            Change("no-op", Ref("Guardrail", "Kept", _id(7))),
        ),
        unmanaged=(
            Unmanaged(Ref("Guardrail", "Made in the UI", _id(8))),
            Unmanaged(
                Ref("Guardrail", "Old name", _id(9)),
                f'possibly renamed to "New name"; add id: {_id(9)} to rename it in place',
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
                Ref("Guardrail", f"Old {i}", _id(100 + i)),
                governance="loosening",
                reason="prune: not declared",
            )
            for i in range(3)
        ),
        errors=(
            "the plan deletes every live Guardrail (3); "
            "pass --allow-mass-delete if that is what you want",
            "Guardrail/Crown jewels: protect: true forbids deleting it",
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
                Ref("Guardrail", "B", _id(11)),
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
        excludes=("Guardrail/id:" + _id(12),),
        custom_properties=CustomPropertiesChange("sync", "none", rows=120),
    )


def no_changes_plan() -> Plan:
    return Plan(
        org="acme",
        api=API,
        dir=".",
        changes=(Change("no-op", Ref("Guardrail", "Kept", _id(7))),),
        custom_properties=CustomPropertiesChange("no-op", "origin/main", rows=3),
    )


def hostile_plan() -> Plan:
    """Names, values and messages that try to escape their block or ping someone."""
    changes = [
        Change(
            "update",
            Ref("TaggingPolicy", name, _id(20 + i)),
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
        unmanaged=tuple(Unmanaged(Ref("Guardrail", n, _id(40)), hint=n) for n in HOSTILE_NAMES),
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
    if name.startswith("case-"):
        plan, _ = run_case(CASES / f"{name.removeprefix('case-')}.yaml", tmp)
        return plan
    return LITERAL_PLANS[name]()


def check_golden(path: Path, actual: str) -> None:
    """Exact comparison with a golden file; ``REGENERATE=1`` rewrites it instead."""
    if os.environ.get("REGENERATE"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with REGENERATE=1 and read it"
    assert actual + "\n" == path.read_text(encoding="utf-8")


# --- golden files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PLANS)
def test_golden(name: str, tmp_path: Path) -> None:
    check_golden(GOLDEN / "text" / f"{name}.txt", text.render(plan_named(name, tmp_path)))


def test_docs_show_the_real_example() -> None:
    """docs/plan-output.md quotes the example plan exactly as the code renders it."""
    docs = (ROOT / "docs" / "plan-output.md").read_text(encoding="utf-8")
    assert text.render(example_plan()) in docs, "update the example in docs/plan-output.md"


# --- the rules, one by one --------------------------------------------------------------------


def test_first_line_names_org_and_api() -> None:
    plan = no_changes_plan()
    assert text.render(plan).splitlines()[0] == f"org acme @ {API}"
    for api in ("sandbox", "sandbox:/tmp/x/.reconciler/sandbox.db"):
        first = text.render(Plan("acme", api, ".", ())).splitlines()[0]
        assert first == "org acme @ sandbox: nothing reaches Infracost"


def test_counts_line() -> None:
    assert (
        text.render(example_plan()).splitlines()[-1] == "Plan: 1 to add, 6 to change, 1 to destroy."
    )
    assert text.render(no_changes_plan()).splitlines()[-1] == "No changes."
    assert text.render(no_changes_plan()) == f"org acme @ {API}\n\nNo changes."
    # a custom properties upload that cannot be verified is listed but is not a change
    sync = Plan("acme", API, ".", (), custom_properties=CustomPropertiesChange("sync", "none"))
    assert text.render(sync).splitlines()[-1] == "No changes."
    assert "~ sync CustomProperties (unverifiable: no baseline to compare with)" in text.render(
        sync
    )


def test_refusal_comes_before_the_counts() -> None:
    lines = text.render(refused_plan()).splitlines()
    assert lines[-1] == "Plan: 0 to add, 0 to change, 3 to destroy."
    refused = lines.index("Plan refused:")
    assert lines[refused + 1].startswith("  x the plan deletes every live Guardrail (3)")
    assert refused > max(i for i, line in enumerate(lines) if "- delete" in line)


def test_set_changes_are_summarised_and_capped() -> None:
    out = text.render(example_plan(), value_cap=2)
    assert "      tags[app_id].allowedValues: +3 -1 (4,981 unchanged)  [mixed]\n" in out
    assert '          + "APP-5001"\n          + "APP-5002"\n          + ... and 1 more\n' in out
    assert '          - "APP-0042"\n' in out
    assert "APP-5003" not in out
    # a create shows a count and a sample, never thousands of values
    assert 'allowedValues [4,981 values: "CC-00000", "CC-00001", ... and 4,979 more]' in out
    assert "CC-00002" not in out


def test_whole_tag_is_summarised_not_dumped() -> None:
    out = text.render(example_plan())
    line = next(line for line in out.splitlines() if "tags[legacy_owner]" in line)
    assert line == (
        '      tags[legacy_owner]: removed {key "legacy_owner", valueType "LIST", '
        'mandatory true, allowedValues [100,000 values: "OWNER-00000", "OWNER-00001", '
        '"OWNER-00002", "OWNER-00003", "OWNER-00004", "OWNER-00005", "OWNER-00006", '
        '"OWNER-00007", "OWNER-00008", "OWNER-00009", ... and 99,990 more]}  [loosening]'
    )
    assert len(out) < 5_000


def test_secrets_show_fingerprints_or_unknown() -> None:
    out = text.render(example_plan())
    assert "      webhookUrl: sha256:6a03edf49689 -> sha256:0cd5797b227b\n" in out
    partial = text.render(partial_plan())
    assert "      webhookUrl: unknown (HOOK_URL not set)\n" in partial
    assert "    ! needs HOOK_URL, not set here: apply will fail this change" in partial


def test_partial_plan_says_so() -> None:
    lines = text.render(partial_plan()).splitlines()
    assert lines[1] == (
        "Partial plan (--target Guardrail/B, --target Guardrail/Hook, "
        f"--exclude Guardrail/id:{_id(12)}): other objects are neither shown nor changed."
    )


def test_no_ops_are_not_shown() -> None:
    out = text.render(example_plan())
    assert '"Kept"' not in out


def test_deletes_are_shown_after_creates_and_updates() -> None:
    lines = text.render(example_plan()).splitlines()
    symbols = [line[2] for line in lines if re.match(r"  [+~-] (create|update|delete) ", line)]
    assert symbols == ["+", "~", "~", "~", "~", "~", "-", "~"]  # the last: custom properties


def test_colour_only_when_asked() -> None:
    assert "\x1b" not in text.render(example_plan())
    coloured = text.render(example_plan(), color=True)
    assert "  \x1b[32m+ create\x1b[0m TaggingPolicy " in coloured
    assert "  \x1b[33m~ update\x1b[0m TaggingPolicy " in coloured
    assert "  \x1b[31m- delete\x1b[0m Guardrail " in coloured
    assert coloured.splitlines()[-1] == "\x1b[1mPlan: 1 to add, 6 to change, 1 to destroy.\x1b[0m"


def test_user_text_cannot_reach_the_terminal_raw() -> None:
    out = text.render(hostile_plan())
    assert "\x1b" not in out and "\u202e" not in out
    assert '"\\u001b[31mred\\u001b[0m and \\u202eevil"' in out
    assert '"#123 | pipe | table |\\n## injected heading"' in out
    # every line is generated: no name starts a line of its own
    assert not any(line.startswith("## injected") for line in out.splitlines())
    long = Plan("acme", API, ".", (Change("create", Ref("Guardrail", "x" * 70_000)),))
    assert f'+ create Guardrail "{"x" * 70_000}" [neutral]' in text.render(long)  # in full


def test_escaping_helpers() -> None:
    assert text.quote('a"b\\c\nd\te\u200bf') == '"a\\"b\\\\c\\nd\\te\\u200bf"'
    assert text.clean("caf\u00e9 \U0001f600 \U000e0001") == "caf\u00e9 \U0001f600 \\U000e0001"
    assert text.quote("abcdef", 3) == '"abc"\u2026 (6 characters)'
