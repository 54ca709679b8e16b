"""The pull-request comment: exact output, escaping, and the size limit.

Golden files live in ``tests/golden/markdown/<plan>.md`` (the plans are those of
``tests/helpers/plans.py``). Regenerate them only after reading the new output:
``REGENERATE=1 pytest tests/test_render_text.py tests/test_render_markdown.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from reconciler.model import Change, FieldChange, Governance, Plan, Ref, Unmanaged
from reconciler.render import markdown
from tests.helpers.golden import check_golden
from tests.helpers.markdown_safety import MARKER, assert_safe
from tests.helpers.plans import (
    ALL_PLANS,
    API,
    example_plan,
    hostile_plan,
    object_id,
    plan_named,
    refused_plan,
)

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
COMMIT = "0123abc"


# --- golden files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PLANS)
def test_golden(name: str, tmp_path: Path) -> None:
    plan = plan_named(name, tmp_path)
    out = markdown.render(plan, commit=COMMIT)
    check_golden(GOLDEN / "markdown" / f"{name}.md", out)
    # of its own, whatever the golden file says (REGENERATE rewrites it):
    assert_safe(out)
    lines = out.splitlines()
    marker = MARKER.fullmatch(lines[0])
    assert marker and (unquote(marker.group(1)), unquote(marker.group(2))) == (plan.dir, plan.org)
    cp = plan.custom_properties
    add, destroy = plan.count("create"), plan.count("delete")
    change = plan.count("update") + int(cp is not None and cp.status == "update")
    counts = f"{add} to add, {change} to change, {destroy} to destroy"
    if plan.errors:
        assert lines[1].startswith(f"### Plan refused: {counts}"), lines[1]
    elif add + change + destroy:
        assert lines[1].startswith(f"### Plan: {counts}"), lines[1]
    else:
        assert lines[1] == "### No changes"
    assert f"planned at {markdown.code(COMMIT)}" in lines[3]


def test_docs_show_the_real_example() -> None:
    docs = (ROOT / "docs" / "plan-output.md").read_text(encoding="utf-8")
    head = "\n".join(markdown.render(example_plan(), commit=COMMIT).splitlines()[:20])
    assert head in docs, "update the example in docs/plan-output.md"


# --- layout ------------------------------------------------------------------------------------


def test_heading_counts_and_marker() -> None:
    lines = markdown.render(example_plan(), commit=COMMIT).splitlines()
    assert lines[0] == "<!-- reconciler:plan dir=governance/acme org=acme -->"
    assert lines[1] == (
        "### Plan: 1 to add, 6 to change, 1 to destroy "
        "(2 tightening, 1 mixed, 1 unknown, 2 loosening, 1 neutral)"
    )
    assert lines[3] == (
        f"Org `acme` · directory `governance/acme` · API `{API}` · planned at `{COMMIT}`"
    )


def test_tightening_first() -> None:
    out = markdown.render(example_plan())
    titles = [line.split(" (")[0] for line in out.splitlines() if line.startswith("#### ")]
    assert titles == [
        "#### Tightening",
        "#### Mixed",
        "#### Unknown",
        "#### Loosening",
        "#### Neutral",
        "#### Custom properties",
        "#### Unmanaged",
        "#### Warnings",
    ]


def test_refusal_is_loud_and_first() -> None:
    lines = markdown.render(refused_plan()).splitlines()
    assert lines[1] == "### Plan refused: 0 to add, 0 to change, 3 to destroy (3 loosening)"
    assert lines[3] == "Org `acme` · directory `examples` · sandbox: nothing reaches Infracost"
    assert lines[5:13] == [
        "> [!CAUTION]",
        "> **Plan refused**: nothing can be applied until these problems are fixed.",
        ">",
        "> ```text",
        "> the plan deletes every live Guardrail (3); pass --allow-mass-delete if that is "
        "what you want",
        "> Guardrail/Crown jewels: protect: true forbids deleting it",
        "> ```",
        "",
    ]


def test_partial_and_no_changes() -> None:
    partial = markdown.render(plan_named("partial", Path()))
    assert (
        "**Partial plan** (`--target Guardrail/B`, `--target Guardrail/Hook`, "
        f"`--exclude Guardrail/id:{object_id(12)}`): other objects are neither shown nor changed."
    ) in partial.splitlines()
    none = markdown.render(plan_named("no-changes", Path()))
    assert none.splitlines()[1] == "### No changes"


def test_long_sections_are_folded() -> None:
    out = markdown.render(example_plan())
    assert "<details><summary>Show 2 changes (" not in out  # short: shown open
    out = markdown.render(hostile_plan())
    assert "<details><summary>Show 7 changes (55 lines)</summary>\n\n````diff\n" in out
    assert "\n````\n\n</details>\n" in out


# --- escaping ----------------------------------------------------------------------------------


def test_hostile_text_stays_in_code() -> None:
    out = markdown.render(hostile_plan(), commit="abc`` @octocat")
    assert_safe(out)
    assert "planned at ```abc`` @octocat```" in out
    assert "Org `acme --> <b>@org/team</b>`" in out
    # fences are longer than any backtick run inside
    assert "\n````diff\n" in out and "\n````text\n" in out
    assert '\\n## injected heading"' in out
    assert "\n## injected" not in out


def test_code_span() -> None:
    assert markdown.code("plain") == "`plain`"
    assert markdown.code("a`b") == "``a`b``"
    assert markdown.code("`x`") == "`` `x` ``"
    assert markdown.code("line\nbreak") == "`line\\nbreak`"
    assert markdown.code("x" * 1000) == "`" + "x" * 300 + "\u2026 (1,000 characters)`"


def test_marker_never_closes_the_comment() -> None:
    for directory, org in [
        ("dirs/<!-- x -->\n@team", "acme --> <b>"),
        ("a--b---c->", "x--!>"),
        ("spaces and = signs", "caf\u00e9"),
        ("-", "--"),
    ]:
        line = markdown.marker(directory, org)
        match = MARKER.fullmatch(line)
        assert match, line
        inner = line.removeprefix("<!--").removesuffix("-->")
        assert "--" not in inner and ">" not in inner and "<" not in inner, line
        assert unquote(match.group(1)) == directory
        assert unquote(match.group(2)) == org
    assert markdown.marker("prod-infra/acme", "acme") == (
        "<!-- reconciler:plan dir=prod-infra/acme org=acme -->"
    )


def test_long_marker_values_are_cut_but_distinct() -> None:
    a = markdown.marker("d" * 70_000 + "a", "acme")
    b = markdown.marker("d" * 70_000 + "b", "acme")
    assert a != b
    assert len(a) < 300 and MARKER.fullmatch(a)


# --- size ----------------------------------------------------------------------------------------


def _many(n: int) -> Plan:
    labels: tuple[Governance, ...] = ("tightening", "loosening", "neutral", "mixed")
    return Plan(
        org="acme",
        api=API,
        dir="big",
        changes=tuple(
            Change(
                "update",
                Ref("Guardrail", f"Guardrail {i}", object_id(i)),
                fields=(
                    FieldChange("totalThreshold", i, i + 1, governance="tightening"),
                    FieldChange(
                        "mailingListEmails",
                        added=tuple(f"user{j}@acme-inc.com" for j in range(12)),
                        is_set=True,
                        governance="neutral",
                    ),
                ),
                governance=labels[i % len(labels)],
            )
            for i in range(n)
        ),
        unmanaged=tuple(Unmanaged(Ref("Guardrail", f"U{i}", object_id(i))) for i in range(500)),
        warnings=tuple(f"warning {i}" for i in range(500)),
    )


def test_five_thousand_changes_fit_and_say_what_is_missing() -> None:
    out = markdown.render(_many(5000), commit=COMMIT)
    assert len(out) < 65_536
    assert MARKER.fullmatch(out.splitlines()[0])
    shown = len(re.findall(r"^~ update Guardrail ", out, re.MULTILINE))
    missing = [
        int(n.replace(",", ""))
        for n in re.findall(
            r"^\.\.\. ([\d,]+) (?:more )?changes? not shown; see the plan artifact "
            r"/ `reconciler show`\.$",
            out,
            re.MULTILINE,
        )
    ]
    assert shown > 500 and sum(missing) + shown == 5000
    assert (
        f"_Trimmed to stay under GitHub's comment size limit (field-level changes left out; "
        f"{5000 - shown:,} of 5,000 changes not shown); see the plan artifact / "
        "`reconciler show`._"
    ) == out.splitlines()[-1]
    assert "... 500 unmanaged objects not shown" in out
    assert_safe(out)


def test_detail_is_dropped_progressively() -> None:
    plan = example_plan()
    full = markdown.render(plan)
    assert "_Trimmed" not in full
    stages = []
    for limit in range(len(full), 400, -40):
        out = markdown.render(plan, limit=limit)
        assert len(out) < limit
        assert out.splitlines()[0] == "<!-- reconciler:plan dir=governance/acme org=acme -->"
        assert_safe(out)
        if "changes not shown" in out or "too large to show here" in out:
            stages.append(4)
        elif "field-level changes left out" in out:
            stages.append(3)
        elif "value samples left out" in out:
            stages.append(2)
        else:
            assert "value samples shortened to 3 per set" in out
            assert '"TEAM-00002"' in out and '"TEAM-00003"' not in out
            stages.append(1)
    assert stages == sorted(stages) and set(stages) == {1, 2, 3, 4}


def test_seventy_thousand_character_name() -> None:
    plan = Plan(
        "acme", API, ".", (Change("create", Ref("Guardrail", "`@x" * 23_334)),), partial=True
    )
    out = markdown.render(plan)
    assert len(out) < 2_000
    assert '+ create Guardrail "' + ("`@x" * 100) + '"\u2026 (70,002 characters) [neutral]' in out
    assert_safe(out)


@pytest.mark.parametrize("limit", [65_536, 8_000, 3_000, 1_500, 600, 200])
def test_hostile_plan_under_any_limit(limit: int) -> None:
    out = markdown.render(hostile_plan(), commit=COMMIT, limit=limit)
    assert len(out) < limit
    assert_safe(out)


def test_limit_too_small_for_the_marker() -> None:
    with pytest.raises(ValueError, match="cannot hold the marker"):
        markdown.render(example_plan(), limit=40)
    assert markdown.render(example_plan(), limit=60) == (
        "<!-- reconciler:plan dir=governance/acme org=acme -->"
    )
