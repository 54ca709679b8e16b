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
from tests.helpers.comment_scenarios import LINKS, SCENARIOS, scenario
from tests.helpers.golden import check_golden
from tests.helpers.markdown_safety import MARKER, assert_fenced_lines_fit, assert_safe
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
    if plan.errors:
        assert lines[1] == (
            f"### Plan refused ({len(plan.errors)} problem{'s' * (len(plan.errors) > 1)}): "
            f"would add {add}, change {change}, destroy {destroy}"
        )
    elif add + change + destroy:
        counts = f"{add} to add, {change} to change, {destroy} to destroy"
        assert lines[1].startswith(f"### Plan: {counts}"), lines[1]
    else:
        assert re.fullmatch(r"### No changes: \d+ objects? in sync", lines[1])
    assert lines[3].endswith(f"planned at {markdown.code(COMMIT)}")
    assert_fenced_lines_fit(out)


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
        "(2 tightening, 1 mixed, 1 unknown, 2 loosening, 1 neutral, 1 who is notified)"
    )
    assert lines[3] == (
        f"Org `acme` · directory `governance/acme` · live API `{API}` · planned at `{COMMIT}`"
    )


def test_the_change_table_is_visible_under_the_heading() -> None:
    lines = markdown.render(example_plan(), commit=COMMIT).splitlines()
    start = lines.index("| | kind | name | effect | what changes |")
    assert "<details>" not in "\n".join(lines[:start])
    rows = lines[start + 2 : start + 9]
    assert rows[0] == (
        "| `+`&nbsp;create | `TaggingPolicy` | `Cost center` | tightening | "
        "`new: filters, 1 tag (4,981 values)` |"
    )
    assert rows[2] == (
        "| `!`&nbsp;update | `Guardrail` | `Production cost limit` | tightening, who is notified | "
        "`increaseThreshold 100 -> 50; webhookUrl replaced` |"
    )
    assert rows[6] == (
        "| **`-`&nbsp;delete** | `Guardrail` | `Legacy limit` | loosening | `absent: true` |"
    )
    assert lines[start - 2] == (
        "By kind: `TaggingPolicy` 1 to add, 2 to change · `Guardrail` 3 to change, 1 to destroy."
    )


def test_diff_markers_are_in_column_0() -> None:
    out = markdown.render(example_plan(), commit=COMMIT)
    for block in re.findall(r"```diff\n(.*?)\n```", out, re.DOTALL):
        for line in block.splitlines():
            assert line == "" or line[0] in "+-!", line
    assert "00000000-0000-4000-8000" not in "".join(re.findall(r"```diff\n.*?\n```", out, re.S))
    # a create leaves out its name, defaults and empty attributes
    create = out.split("+ create TaggingPolicy")[1].split("\n\n")[0]
    assert "name:" not in create and "blockPr" not in create and "prComment" not in create


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
    assert lines[1] == "### Plan refused (2 problems): would add 0, change 0, destroy 3"
    assert lines[3] == "Org `acme` · directory `examples` · sandbox: nothing reaches Infracost"
    assert lines[7:11] == [
        "> [!CAUTION]",
        "> **Nothing will be applied** until these problems are fixed; each starts with its "
        "fix. A pull request that means its deletions allows them with `allowMassDelete: true` "
        "in `reconciler.yaml` (remove it once applied).",
        ">",
        "> - `Set allowMassDelete: true in reconciler.yaml (or pass --allow-mass-delete) if you "
        "mean it: the plan deletes every live Guardrail (3)`",
    ]
    # the deletions that caused the refusal are marked in the table
    assert (
        sum(1 for line in lines if line.startswith("| ⛔&nbsp;**`-`&nbsp;delete**, refused |")) == 3
    )


def test_partial_and_no_changes() -> None:
    partial = markdown.render(plan_named("partial", Path()))
    assert (
        "**Partial plan** (`--target Guardrail/B`, `--target Guardrail/Hook`, "
        f"`--exclude Guardrail/id:{object_id(12)}`): other objects are neither shown nor changed."
    ) in partial.splitlines()
    none = markdown.render(plan_named("no-changes", Path()))
    assert none.splitlines()[1] == "### No changes: 1 object in sync"
    assert "Every declared object matches the live state (1 `Guardrail`)." in none


def test_the_diff_is_folded_with_the_names_in_the_label() -> None:
    out = markdown.render(example_plan())
    assert (
        "<details><summary>Show the diff: <code>Cost center</code>, "
        "<code>Production cost limit</code></summary>\n\n```diff\n"
    ) in out
    out = markdown.render(hostile_plan())
    assert "<code>ping &commat;acme/security-team and &commat;octocat</code>" in out
    assert "\n````\n\n</details>\n" in out


# --- escaping ----------------------------------------------------------------------------------


def test_hostile_text_stays_in_code() -> None:
    out = markdown.render(hostile_plan(), commit="abc`` @octocat")
    assert_safe(out)
    assert "planned at ```abc`` @octocat```" in out
    assert "Org `acme --> <b>@org/team</b>`" in out
    # fences are longer than any backtick run inside
    assert "\n````diff\n" in out
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
    shown = len(re.findall(r"^! update Guardrail ", out, re.MULTILINE))
    missing = [
        int(n.replace(",", ""))
        for n in re.findall(
            r"^\.\.\. ([\d,]+) (?:more )?changes? not shown; see the plan artifact "
            r"/ `reconciler show`\.$",
            out,
            re.MULTILINE,
        )
    ]
    assert shown > 300 and sum(missing) + shown == 5000
    assert out.splitlines()[-1].startswith("_Trimmed to stay under GitHub's comment size limit (")
    assert f"the diff of {5000 - shown:,} of 5,000 changes not shown" in out.splitlines()[-1]
    assert re.search(r"^\.\.\. [\d,]+ (more )?unmanaged objects not shown", out, re.MULTILINE)
    # the table keeps its first rows; the rest are counted
    assert "| `!`&nbsp;update | `Guardrail` | `Guardrail 0` |" in out
    assert re.search(r"^\.\.\. [\d,]+ more rows not shown", out, re.MULTILINE)
    assert_safe(out)
    assert_fenced_lines_fit(out)


def test_detail_is_cut_per_change_from_the_end() -> None:
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
            stages.append(3)
        elif "field lines left out" in out:
            stages.append(2)
        else:
            match = re.search(r"field lines shown for the first (\d+) changes?", out)
            assert match, out
            # the first changes keep their attribute lines, the last ones lose them
            assert '+   message: "Tag every resource."' in out
            assert '! update Guardrail "Renamed limit"' in out
            assert '!   name: "Old limit" -> "Renamed limit"' not in out
            stages.append(1)
    assert stages == sorted(stages) and set(stages) == {1, 2, 3}


def test_seventy_thousand_character_name() -> None:
    plan = Plan(
        "acme", API, ".", (Change("create", Ref("Guardrail", "`@x" * 23_334)),), partial=True
    )
    out = markdown.render(plan)
    assert len(out) < 3_000
    assert '+ create Guardrail\n+     "' + ("`@x" * 33) in out
    assert '"\u2026 (70,002' in out and "characters)" in out
    assert_safe(out)
    assert_fenced_lines_fit(out)


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


# --- the six pull requests of issue 14 ------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name: str, tmp_path: Path) -> None:
    """Golden comments as a pull request gets them: links, snapshot source, table, diff."""
    plan = scenario(name, tmp_path)
    out = markdown.render(plan, links=LINKS)
    check_golden(GOLDEN / "markdown" / f"scenario-{name}.md", out)
    assert len(out) < 65_536
    assert_safe(out)
    assert_fenced_lines_fit(out)
    if name != "everything-created":
        assert "live snapshot from `main` @ [`abc1234`](https://github.com/acme/governance/" in out
        assert "), 3 h old · planned at [`4f2c9e1`](" in out
    assert "[workflow run](https://github.com/acme/governance/actions/runs/9876543210)" in out


def test_the_table_marks_refusals_and_the_heading_says_nothing_happens(tmp_path: Path) -> None:
    lines = markdown.render(scenario("refused", tmp_path), links=LINKS).splitlines()
    assert lines[1] == "### Plan refused (2 problems): would add 1, change 1, destroy 3"
    refused_rows = [line for line in lines if line.startswith("| ⛔")]
    assert [row.split(" | ")[2] for row in refused_rows] == [
        "`Crown jewels`",
        "`Staging limit`",
        "`Sandbox limit`",
    ]
    reasons = [line for line in lines if line.startswith("> - `")]
    assert reasons[0].startswith("> - `Keep Guardrail/Crown jewels declared")
    assert reasons[1].startswith("> - `Set allowMassDelete: true in reconciler.yaml")


def test_flawed_values_are_shown_before_the_others(tmp_path: Path) -> None:
    out = markdown.render(scenario("five-thousand-values", tmp_path), links=LINKS)
    added = re.findall(r'^\+       "([^"]*)"$', out, re.MULTILINE)
    assert added[:3] == ["APP-01234 ", "APP-0O123", "app-01234"]
    assert "+       ... and 20 more" in out
    # 12 removed: a handful over the cap of 10, so all are shown
    assert len(re.findall(r'^-       "APP-001', out, re.MULTILINE)) == 12
    # each finding links to its line at the head commit
    assert (
        "[`data/servicenow-apps.csv:5031`](https://github.com/acme/governance/blob/"
        "4f2c9e1d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e/governance/data/servicenow-apps.csv#L5031)"
    ) in out


def test_a_webhook_replaced_or_removed_is_a_change_of_who_is_notified(tmp_path: Path) -> None:
    out = markdown.render(scenario("mixed", tmp_path), links=LINKS)
    assert "| `!`&nbsp;update | `Guardrail` | `Project budget` | who is notified | " in out
    assert '!   webhookUrl: sha256:6a03edf49689 -> ""  [who is notified]' in out
    assert "(2 tightening, 1 loosening, 1 neutral, 2 who is notified)" in out


def test_no_changes_says_what_was_compared(tmp_path: Path) -> None:
    lines = markdown.render(scenario("no-changes", tmp_path), links=LINKS).splitlines()
    assert lines[1] == "### No changes: 5 objects in sync"
    assert (
        "Every declared object matches the live state (2 `Guardrail`, 3 `TaggingPolicy`)." in lines
    )


def test_links_come_only_from_a_well_formed_environment() -> None:
    env = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/governance",
        "GITHUB_RUN_ID": "42",
    }
    links = markdown.Links.from_env(env, "0123456789abcdef0123456789abcdef01234567")
    assert links.run_url() == "https://github.com/acme/governance/actions/runs/42"
    assert links.commit_url("0123456789abcdef0123456789abcdef01234567").endswith(
        "/commit/0123456789abcdef0123456789abcdef01234567"
    )
    assert links.file_url("examples", "data/a b.csv", 3) == (
        "https://github.com/acme/governance/blob/0123456789abcdef0123456789abcdef01234567/"
        "examples/data/a%20b.csv#L3"
    )
    assert links.file_url("examples", "../../etc/passwd", 1) == ""
    for bad in (
        {**env, "GITHUB_SERVER_URL": "javascript:alert(1)"},
        {**env, "GITHUB_REPOSITORY": "acme/gov)ernance"},
    ):
        assert markdown.Links.from_env(bad, "").run_url() == ""
    assert markdown.Links.from_env({**env, "GITHUB_RUN_ID": "42)"}, "").run_url() == ""
    assert markdown.Links.from_env(env, "not a sha").commit_url("not a sha") == ""


def test_wrap_keeps_the_marker_in_column_0() -> None:
    line = "+   message: " + " ".join(["word"] * 60)
    wrapped = markdown.wrap(line)
    assert len(wrapped) > 1 and all(len(w) <= 120 and w[0] == "+" for w in wrapped)
    assert " ".join(w[1:].strip() for w in wrapped) == line[1:].strip()
    assert markdown.wrap("-   " + "x" * 400)[1].startswith("-       x")
