"""Tag-value hygiene in validate and plan: located findings, settings, and the PR comment."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.hygiene import report as hygiene_report
from reconciler.model import Change, FieldChange, HygieneSubject, Plan, Problem, Ref
from reconciler.render import markdown
from tests.helpers.cli import run
from tests.helpers.markdown_safety import assert_safe
from tests.helpers.sandbox import SandboxOrg


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return root


CONFIG = """\
org: acme
hygiene:
  app_id: {case: upper, separator: "-"}
  team:
    distinct: [[auth-service, oauth-service]]
  cost_center:
    distinctKeys: [costcentre]
"""
APPS = (
    "sys_id,app_id,name\n1,APP-00041,Payments\n2,app-00042,Billing\n3,APP-00043 ,Ledger\n"
    "4,APP\u201300041,Payments EU\n"
)
TEAMS = """\
kind: TaggingPolicy
name: Teams
tags:
  - key: team
    valueType: LIST
    allowedValues:
      - payments-api
      - Payments-API
      - paymnets-gateway
      - payments-gateway
      - auth-service
      - oauth-service
  - key: app_id
    valueType: LIST
    allowedValuesFrom: {file: ../data/apps.csv, column: app_id}
  - key: CostCenter
    valueType: ANY
"""
COST = """\
kind: TaggingPolicy
name: Cost center
tags:
  - key: cost_center
    valueType: ANY
  - key: costcentre
    valueType: ANY
"""


def directory(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "reconciler.yaml": CONFIG,
            "data/apps.csv": APPS,
            "policies/teams.yaml": TEAMS,
            "policies/cost.yaml": COST,
        },
    )


def test_validate_reports_each_finding_at_its_line(tmp_path: Path) -> None:
    code, out, err = run("validate", ".", cwd=directory(tmp_path))
    assert (code, err) == (0, "")
    w = 'warning: TaggingPolicy "Teams"'
    assert out.splitlines() == [
        f"data/apps.csv:3:1: {w}: tags[app_id].allowedValuesFrom: hygiene: "
        '"app-00042" (line 3) has lower-case letters (house style: upper case); '
        'suggested: "APP-00042"',
        f"data/apps.csv:4:1: {w}: tags[app_id].allowedValuesFrom: hygiene: "
        '"APP-00043 " (line 4) has a trailing space; suggested: "APP-00043"',
        f"data/apps.csv:5:1: {w}: tags[app_id].allowedValuesFrom: hygiene: "
        '"APP\\u201300041" (line 5) and "APP-00041" (line 2) differ only in look-alike '
        'characters; suggested: "APP-00041"',
        f"policies/teams.yaml:8:9: {w}: tags[team].allowedValues: hygiene: "
        '"Payments-API" (line 8) and "payments-api" (line 7) differ only in case; '
        'suggested: "payments-api"',
        f"policies/teams.yaml:9:9: {w}: tags[team].allowedValues: hygiene: "
        '"paymnets-gateway" (line 9) is one edit away from "payments-gateway" (line 10), '
        'probably a typo; suggested: "payments-gateway"',
        f"policies/teams.yaml:16:10: {w}: tags[CostCenter].key: hygiene: tag key "
        '"CostCenter" (line 16) and "cost_center" (TaggingPolicy "Cost center", cost.yaml:4) '
        'differ only in case and separators; suggested: "cost_center"',
        "Valid with 6 warnings: 2 TaggingPolicy in 2 files.",
    ]


def test_json_carries_the_rule_and_the_suggestion(tmp_path: Path) -> None:
    code, out, _ = run("validate", ".", "--format", "json", cwd=directory(tmp_path))
    report = json.loads(out)
    assert code == 0 and report["valid"] is True
    assert [(p["rule"], p["suggestion"]) for p in report["problems"]] == [
        ("hygiene/style", "APP-00042"),
        ("hygiene/characters", "APP-00043"),
        ("hygiene/variant", "APP-00041"),
        ("hygiene/variant", "payments-api"),
        ("hygiene/near-duplicate", "payments-gateway"),
        ("hygiene/key-variant", "cost_center"),
    ]


def test_strict_turns_findings_into_errors(tmp_path: Path) -> None:
    code, out, _ = run("validate", ".", "--strict", cwd=directory(tmp_path))
    assert code == 1 and out.splitlines()[-1] == "Invalid: 6 errors."


def test_documents_with_errors_are_not_checked(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reconciler.yaml": "org: acme\n",
            "p.yaml": "kind: TaggingPolicy\nname: P\nprComent: true\ntags:\n  - key: team\n"
            "    valueType: LIST\n    allowedValues: [payments-api, Payments-API]\n",
        },
    )
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 1 and "hygiene" not in out


def test_a_bad_hygiene_setting_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, {"reconciler.yaml": "hygiene:\n  app_id: {case: title}\n"})
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 1
    assert out.splitlines()[0].startswith("reconciler.yaml:2:18: hygiene.app_id.case: ")


# --- what a plan introduces --------------------------------------------------------------------


def finding(values: tuple[str, ...], *, name: str = "Teams", key: str = "team") -> Problem:
    subject = HygieneSubject((("TaggingPolicy", name, key),), values, values[0].lower())
    return Problem("warning", None, "hygiene: ...", rule="hygiene/variant", hygiene=subject)


def update(*fields: FieldChange, name: str = "Teams") -> Change:
    return Change("update", Ref("TaggingPolicy", name, "id-1"), fields)


def test_a_plan_introduces_findings_about_the_values_it_adds() -> None:
    found = [finding(("Payments-API", "payments-api")), finding(("Ledger ",))]
    added = FieldChange("tags[team].allowedValues", added=("Payments-API",), is_set=True)
    assert hygiene_report.introduced(found, [update(added)]) == found[:1]
    removed = FieldChange("tags[team].allowedValues", removed=("x",), is_set=True)
    assert hygiene_report.introduced(found, [update(removed)]) == []
    new_tag = FieldChange("tags[team]", before=None, after={"key": "team"})
    assert hygiene_report.introduced(found, [update(new_tag)]) == found
    create = Change("create", Ref("TaggingPolicy", "Teams"))
    assert hygiene_report.introduced(found, [create]) == found
    no_op = Change("no-op", Ref("TaggingPolicy", "Teams", "id-1"))
    assert hygiene_report.introduced(found, [no_op]) == []
    other = Change("create", Ref("TaggingPolicy", "Other"))
    assert hygiene_report.introduced(found, [other]) == []


def test_the_pr_comment_shows_introduced_findings_first() -> None:
    plan = Plan(
        "acme",
        "sandbox",
        ".",
        (Change("create", Ref("TaggingPolicy", "Teams"), governance="tightening"),),
        hygiene=(
            'p.yaml:8: TaggingPolicy "Teams": tags[team].allowedValues: "Payments-API" '
            '(line 8) and "payments-api" (line 7) differ only in case; suggested: '
            '"payments-api"',
        ),
    )
    md = markdown.render(plan)
    lines = md.splitlines()
    start = lines.index("> [!WARNING]")
    assert lines[start + 1 : start + 4] == [
        "> **Tag-value hygiene (1)**: this change adds values that look like typos or "
        "variants of others. Fix them before merging, or declare intentional pairs under "
        "`hygiene:` in `reconciler.yaml`.",
        ">",
        f"> - `{plan.hygiene[0]}`",  # a plan file of an older version: its lines as bullets
    ]
    assert start < lines.index(
        "#### Tightening (1): more pull requests commented on, failed or blocked"
    )
    assert_safe(md)


def test_plan_shows_only_the_findings_of_added_values(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    flags = ["--api", sandbox_org.base_url, "--org", sandbox_org.org]
    env = {"INFRACOST_SERVICE_TOKEN": sandbox_org.token}
    work = directory(tmp_path)
    code, out, _ = run("plan", ".", *flags, "--format", "json", cwd=work, env=env)
    assert code == 0 and len(json.loads(out)["hygiene"]) == 6  # everything is new
    code, _, err = run("apply", ".", *flags, "--auto-approve", cwd=work, env=env)
    assert code == 0, err
    with (work / "data" / "apps.csv").open("a") as fh:
        fh.write("5,APP-00044,Treasury\n6,APP_00045,Payroll\n")
    code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=work, env=env)
    assert code == 0
    assert "APP_00045" in err  # validation warnings: every finding, old and new
    code, out, _ = run("show", "plan.json", "--format", "markdown", cwd=work)
    assert code == 0
    hygiene = [
        line
        for line in out.splitlines()
        if line.startswith("> ") and ("hygiene" in line or "APP_00045" in line)
    ]
    assert hygiene == [
        '> **Tag-value hygiene (1)** in `TaggingPolicy "Teams": tags[app_id].allowedValuesFrom`: '
        "this change adds values that look like typos or variants of others. Fix them before "
        "merging, or declare intentional pairs under `hygiene:` in `reconciler.yaml`.",
        '> | `APP_00045` | `"APP_00045" (line 7) has separator "_" (house style: "-"); suggested: '
        '"APP-00045"` | `APP-00045` | `data/apps.csv:7` |',
    ]


def test_the_docs_show_real_output(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "format.md").read_text()
    work = directory(tmp_path)
    _, out, _ = run("validate", ".", cwd=work)
    assert f"$ reconciler validate .\n{out}```" in docs
    _, out, _ = run("fix-values", "data/apps.csv", "--column", "app_id", cwd=work)
    assert f"$ reconciler fix-values data/apps.csv --column app_id\n{out}```" in docs
