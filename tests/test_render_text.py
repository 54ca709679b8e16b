"""The terminal plan: exact output for literal plans and for plans built from diff cases.

Golden files live in ``tests/golden/text/<plan>.txt``. Regenerate them only after reading the
new output: ``REGENERATE=1 pytest tests/test_render_text.py tests/test_render_markdown.py``.
The plans are built in ``tests/helpers/plans.py``, shared with the markdown and GitHub tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.model import Change, CustomPropertiesChange, Plan, Ref
from reconciler.render import text
from tests.helpers.golden import check_golden
from tests.helpers.plans import (
    ALL_PLANS,
    API,
    example_plan,
    hostile_plan,
    no_changes_plan,
    object_id,
    partial_plan,
    plan_named,
    refused_plan,
)

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"


# --- golden files ---------------------------------------------------------------------------


def expected_counts(plan: Plan) -> str:
    """The last line, computed from the plan itself: what no golden file can decide. A refused
    plan has one verdict: the refusal, never "No changes." after it."""
    cp = plan.custom_properties
    upload = cp is not None and cp.status == "update"
    add, destroy = plan.count("create"), plan.count("delete")
    change = plan.count("update") + int(upload)
    if plan.errors:
        n = len(plan.errors)
        return (
            f"Plan refused ({n} problem{'s' * (n > 1)}): would add {add}, change {change}, "
            f"destroy {destroy}."
        )
    if add + change + destroy == 0:
        return "No changes."
    return f"Plan: {add} to add, {change} to change, {destroy} to destroy."


@pytest.mark.parametrize("name", ALL_PLANS)
def test_golden(name: str, tmp_path: Path) -> None:
    plan = plan_named(name, tmp_path)
    out = text.render(plan)
    check_golden(GOLDEN / "text" / f"{name}.txt", out)
    # of its own, whatever the golden file says (REGENERATE rewrites it):
    lines = out.splitlines()
    assert lines[-1] == expected_counts(plan)
    shown = [line for line in lines if re.match(r"  [+~-] (create|update|delete) ", line)]
    writes = sum(1 for c in plan.changes if c.action != "no-op")
    upload = plan.custom_properties is not None and plan.custom_properties.status == "update"
    assert len(shown) == writes + int(upload)  # one line per change, no-ops left out
    header = f"Problems ({len(plan.errors)}), each starting with its fix:"
    assert (header in lines) == bool(plan.errors)
    verdicts = [line for line in lines if line.startswith(("Plan", "No changes"))]
    assert verdicts == [lines[-1]]  # one verdict, last


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


def test_refusal_is_the_one_verdict_after_its_problems() -> None:
    lines = text.render(refused_plan()).splitlines()
    assert lines[-1] == "Plan refused (2 problems): would add 0, change 0, destroy 3."
    assert [line for line in lines if line.startswith(("Plan", "No changes"))] == [lines[-1]]
    refused = lines.index("Problems (2), each starting with its fix:")
    assert lines[refused + 1].startswith(
        "  x Set allowMassDelete: true in reconciler.yaml (or pass --allow-mass-delete) if you "
        "mean it: the plan deletes every live Guardrail (3)"
    )
    assert refused > max(i for i, line in enumerate(lines) if "- delete" in line)


def test_set_changes_are_summarised_and_capped() -> None:
    out = text.render(example_plan(), value_cap=2)
    assert "      tags[app_id].allowedValues: +3 -1 (4,981 unchanged)  [mixed]\n" in out
    # a handful left over is shown, not counted ("and 1 more")
    assert '          + "APP-5001"\n          + "APP-5002"\n          + "APP-5003"\n' in out
    assert '          - "APP-0042"\n' in out
    assert '          + "TEAM-00001"\n          + ... and 23 more\n' in out
    assert "TEAM-00002" not in out
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
    assert (
        "      webhookUrl: sha256:6a03edf49689 -> sha256:0cd5797b227b  [who is notified]\n" in out
    )
    partial = text.render(partial_plan())
    assert "      webhookUrl: unknown (HOOK_URL not set)\n" in partial
    assert "    ! needs HOOK_URL, not set here: apply will fail this change" in partial


def test_partial_plan_says_so() -> None:
    lines = text.render(partial_plan()).splitlines()
    assert lines[1] == (
        "Partial plan (--target Guardrail/B, --target Guardrail/Hook, "
        f"--exclude Guardrail/id:{object_id(12)}): other objects are neither shown nor changed."
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
