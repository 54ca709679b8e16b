"""``allowedValuesFrom.where``: row filters on CSV files (a CMDB export used as it comes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.desired import read_desired
from reconciler.sources import DataError, RowFilter, Unmatched, read_values
from tests.helpers.cli import against, run
from tests.helpers.sandbox import SandboxOrg

# A CMDB export as exports write them: statuses in any case, with stray spaces.
CMDB = (
    "sys_id,app_id,name,operational_status,business_unit\n"
    "1,APP-001,Billing,Operational,Retail\n"
    "2,APP-002,Ledger,RETIRED,Retail\n"
    "3,APP-003,Search,retired ,Payments\n"
    "4,APP-004,Pricing,Pilot,Payments\n"
    "5,APP-005,Routing, operational,Logistics\n"
    "6,APP-006,Reports,Retired,Logistics\n"
)


def csv_file(tmp_path: Path, text: str = CMDB, name: str = "cmdb.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def values(path: Path, *where: RowFilter, column: str = "app_id") -> list[str]:
    return read_values(path, column, where).values


# --- matching, on literal data -------------------------------------------------------------


def test_a_value_matches_whatever_the_case_and_surrounding_spaces_of_the_cell(
    tmp_path: Path,
) -> None:
    path = csv_file(tmp_path)
    assert values(path, RowFilter("operational_status", ("retired",))) == [
        "APP-002",
        "APP-003",
        "APP-006",
    ]
    # the wanted value is folded the same way
    assert values(path, RowFilter("operational_status", (" OPERATIONAL ",))) == [
        "APP-001",
        "APP-005",
    ]


def test_a_list_is_any_of(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    got = read_values(path, "app_id", [RowFilter("operational_status", ("operational", "pilot"))])
    assert got.values == ["APP-001", "APP-004", "APP-005"]
    assert (got.rows, got.dropped) == (6, 3)


def test_not_is_none_of(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    retired = RowFilter("operational_status", ("retired",), negate=True)
    assert values(path, retired) == ["APP-001", "APP-004", "APP-005"]
    neither = RowFilter("operational_status", ("retired", "pilot"), negate=True)
    assert values(path, neither) == ["APP-001", "APP-005"]


def test_several_columns_must_all_match(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    got = read_values(
        path,
        "app_id",
        [
            RowFilter("operational_status", ("retired",), negate=True),
            RowFilter("business_unit", ("payments", "logistics")),
        ],
    )
    assert got.values == ["APP-004", "APP-005"]
    assert (got.rows, got.dropped) == (6, 4)


def test_the_value_column_is_never_altered(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "app_id,status\n APP-1 ,Active\napp-2,ACTIVE\nAPP-3\u00a0,active\nAPP-4,retired\n",
    )
    assert values(path, RowFilter("status", ("active",))) == [" APP-1 ", "app-2", "APP-3\u00a0"]


def test_the_filter_column_may_be_the_value_column(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "app_id\nAPP-1\nAPP-2\n app-2\n")
    assert values(path, RowFilter("app_id", ("app-2",), negate=True)) == ["APP-1"]


def test_repeats_and_empty_values_count_the_kept_rows_only(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "app_id,status\n"
        "APP-1,retired\n"  # line 2: dropped; would repeat line 4
        "APP-2,active\n"  # line 3
        "APP-1,active\n"  # line 4
        ",retired\n"  # line 5: dropped; would be an empty value
        "APP-2,active\n"  # line 6: a repeat of line 3
        ",active\n",  # line 7: an empty value
    )
    got = read_values(path, "app_id", [RowFilter("status", ("active",))])
    assert got.values == ["APP-2", "APP-1"]
    assert got.duplicates == [("APP-2", 3, 6)]
    assert got.empty_lines == [7]
    assert got.lines() == [3, 4]
    assert (got.rows, got.dropped) == (6, 2)


def test_lines_of_kept_values_follow_multiline_cells(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path, 'app_id,note,status\nAPP-1,"two\nlines",retired\nAPP-2,x,active\nAPP-3,y,active\n'
    )
    got = read_values(path, "app_id", [RowFilter("status", ("active",))])
    assert got.values == ["APP-2", "APP-3"]
    assert got.lines() == [4, 5]


def test_without_where_nothing_is_dropped(tmp_path: Path) -> None:
    got = read_values(csv_file(tmp_path), "app_id")
    assert (len(got.values), got.rows, got.dropped, got.unmatched) == (6, 6, 0, [])


def test_values_no_row_holds_are_reported_with_a_close_match(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    got = read_values(
        path, "app_id", [RowFilter("operational_status", ("operational", "pilto", "zzz"))]
    )
    assert got.values == ["APP-001", "APP-005"]
    assert got.unmatched == [
        Unmatched("operational_status", "pilto", "pilot", negate=False),
        Unmatched("operational_status", "zzz", None, negate=False),
    ]


def test_a_filter_column_missing_from_the_header(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    with pytest.raises(DataError) as caught:
        read_values(path, "app_id", [RowFilter("operational_stauts", ("x",))])
    assert caught.value.message == (
        'column "operational_stauts" is not in the header of cmdb.csv; '
        'did you mean "operational_status"?'
    )
    assert caught.value.key == ("where", "operational_stauts")
    with pytest.raises(DataError) as caught:
        read_values(path, "app_id", [RowFilter("STATUS_OPERATIONAL", ("x",))])
    assert caught.value.message == (
        'column "STATUS_OPERATIONAL" is not in the header of cmdb.csv '
        "(columns: sys_id, app_id, name, operational_status, business_unit)"
    )
    with pytest.raises(DataError) as caught:  # headers change case between exports
        read_values(path, "app_id", [RowFilter("BUSINESS_UNIT", ("x",))])
    assert caught.value.message.endswith('; did you mean "business_unit"?')


def test_a_short_row_is_still_located_with_a_filter(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "app_id,status\nAPP-1,active\nAPP-2\n")
    with pytest.raises(DataError) as caught:
        read_values(path, "app_id", [RowFilter("status", ("active",))])
    assert (caught.value.message, caught.value.line) == (
        "row has 1 field but the header has 2",
        3,
    )


def test_where_on_a_text_file(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "APP-1\n", name="apps.txt")
    with pytest.raises(DataError) as caught:
        read_values(path, None, [RowFilter("status", ("active",))])
    assert caught.value.key == ("where",)


# --- validate and plan on a directory -------------------------------------------------------


POLICY = """\
kind: TaggingPolicy
name: Apps
tags:
  - key: app_id
    mandatory: true
    valueType: LIST
    allowedValuesFrom:
      file: ../data/cmdb.csv
      column: app_id
      where: {where}
"""


def directory(tmp_path: Path, where: str, csv: str = CMDB) -> Path:
    root = tmp_path / "gov"
    (root / "policies").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "reconciler.yaml").write_text("org: acme\napi: sandbox\n")
    (root / "data" / "cmdb.csv").write_text(csv)
    (root / "policies" / "apps.yaml").write_text(POLICY.format(where=where))
    return root


NOTE = (
    'policies/apps.yaml:8:7: note: TaggingPolicy "Apps": tags[app_id].allowedValuesFrom: '
    "where kept 3 of 6 rows (3 dropped)"
)


def test_validate_prints_a_note_that_counts_nothing(tmp_path: Path) -> None:
    root = directory(tmp_path, "{operational_status: {not: retired}}")
    code, out, err = run("validate", ".", cwd=root)
    assert (code, err) == (0, "")
    assert out.splitlines() == [NOTE, "Valid: 1 TaggingPolicy in 1 file."]
    (res,) = read_desired(root).resources
    assert res.attributes["tags"][0]["allowedValues"] == ["APP-001", "APP-004", "APP-005"]


def test_strict_leaves_a_note_a_note(tmp_path: Path) -> None:
    root = directory(tmp_path, "{operational_status: {not: retired}}")
    code, out, _ = run("validate", ".", "--strict", cwd=root)
    assert code == 0
    assert out.splitlines() == [NOTE, "Valid: 1 TaggingPolicy in 1 file."]
    code, out, _ = run("validate", ".", "--strict", "--format", "json", cwd=root)
    report = json.loads(out)
    assert code == 0
    assert (report["valid"], report["errors"], report["warnings"]) == (True, 0, 0)
    (note,) = report["problems"]
    assert note["severity"] == "note"
    assert (note["file"], note["line"], note["column"]) == ("policies/apps.yaml", 8, 7)
    assert note["field"] == "tags[app_id].allowedValuesFrom"
    assert note["message"] == "where kept 3 of 6 rows (3 dropped)"


def test_a_note_beside_warnings_and_errors_changes_no_count(tmp_path: Path) -> None:
    csv = CMDB + "7,APP-001,Billing again,operational,Retail\n8,APP-002,Ledger again,Pilot,Retail\n"
    root = directory(tmp_path, "{operational_status: [Operational, pilot]}", csv)
    code, out, _ = run("validate", ".", cwd=root)
    assert code == 0
    assert out.splitlines() == [
        'policies/apps.yaml:8:7: warning: TaggingPolicy "Apps": tags[app_id].allowedValuesFrom: '
        '1 repeated value(s) in "../data/cmdb.csv" removed (first: "APP-001" at lines 2 and 8)',
        'policies/apps.yaml:8:7: note: TaggingPolicy "Apps": tags[app_id].allowedValuesFrom: '
        "where kept 5 of 8 rows (3 dropped)",
        "Valid with 1 warning: 1 TaggingPolicy in 1 file.",
    ]
    code, out, _ = run("validate", ".", "--strict", cwd=root)
    assert code == 1 and out.splitlines()[-1] == "Invalid: 1 error."
    # one error (x) and one more warning (no threshold): the note is still not counted
    (root / "policies" / "bad.yaml").write_text("kind: Guardrail\nname: G\nscope: PROJECT\nx: 1\n")
    code, out, _ = run("validate", ".", cwd=root)
    assert code == 1 and out.splitlines()[-1] == "Invalid: 1 error, 2 warnings."
    assert sum(": note: " in line for line in out.splitlines()) == 1


def test_a_typo_in_a_wanted_value_is_named_in_the_note(tmp_path: Path) -> None:
    root = directory(tmp_path, "{operational_status: {not: retierd}}")
    code, out, _ = run("validate", ".", cwd=root)
    assert code == 0
    assert out.splitlines()[0].endswith(
        'where kept 6 of 6 rows (0 dropped); no row has operational_status "retierd" '
        '(did you mean "retired"?)'
    )


def test_plan_says_what_the_filter_kept_and_plans_only_the_kept_values(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    root = directory(tmp_path, "{operational_status: [operational, PILOT]}")
    flags, env = against(sandbox_org)
    code, out, err = run("plan", ".", *flags, cwd=root, env=env)
    assert code == 0, err
    assert err.splitlines() == [NOTE]
    assert (
        'tags[app_id]: key "app_id", valueType "LIST", mandatory true, '
        'allowedValues ["APP-001", "APP-004", "APP-005"]'
    ) in out
    assert out.splitlines()[-1] == "Plan: 1 to add, 0 to change, 0 to destroy."
    # Retiring an application in the CMDB removes its ID at the next plan.
    code, _, err = run("apply", ".", *flags, "--auto-approve", cwd=root, env=env)
    assert code == 0, err
    csv = CMDB.replace("5,APP-005,Routing, operational", "5,APP-005,Routing,Retired ")
    (root / "data" / "cmdb.csv").write_text(csv)
    code, out, err = run("plan", ".", *flags, "--detailed-exitcode", cwd=root, env=env)
    assert code == 2, err
    assert err.splitlines() == [NOTE.replace("kept 3 of 6 rows (3", "kept 2 of 6 rows (4")]
    assert "tags[app_id].allowedValues: +0 -1 (2 unchanged)" in out
    assert '- "APP-005"' in out


def test_plan_refuses_a_filter_that_keeps_nothing(tmp_path: Path) -> None:
    root = directory(tmp_path, "{operational_status: active}")
    code, out, err = run("plan", ".", cwd=root)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        'policies/apps.yaml:10:14: TaggingPolicy "Apps": tags[app_id].allowedValuesFrom.where: '
        '"../data/cmdb.csv" holds no values: the where filter dropped all 6 rows; '
        'no row has operational_status "active"',
        "Error: .: 1 error in the desired state (run reconciler validate for details)",
    ]


def test_a_missing_filter_column_is_located_at_its_key(tmp_path: Path) -> None:
    root = directory(tmp_path, "{operational_status: {not: retired}, Business_Unit: retail}")
    code, out, _ = run("validate", ".", cwd=root)
    assert code == 1
    assert out.splitlines() == [
        'policies/apps.yaml:10:51: TaggingPolicy "Apps": '
        "tags[app_id].allowedValuesFrom.where.Business_Unit: "
        'column "Business_Unit" is not in the header of cmdb.csv; '
        'did you mean "business_unit"?',
        "Invalid: 1 error.",
    ]


def test_hygiene_findings_are_located_at_the_kept_rows(tmp_path: Path) -> None:
    csv = "app_id,status\nAPP-1 ,retired\nAPP-2,active\nAPP-3 ,active\n"
    root = directory(tmp_path, "{status: active}", csv)
    code, out, _ = run("validate", ".", cwd=root)
    assert code == 0
    assert out.splitlines()[0] == (
        'data/cmdb.csv:4:1: warning: TaggingPolicy "Apps": tags[app_id].allowedValuesFrom: '
        'hygiene: "APP-3 " (line 4) has a trailing space; suggested: "APP-3"'
    )
    assert "APP-1" not in out


def test_the_examples_read_their_export_without_the_retired_applications() -> None:
    examples = Path(__file__).resolve().parent.parent / "examples"
    state = read_desired(examples)
    (note,) = (p for p in state.problems if p.severity == "note")
    assert note.message == "where kept 202 of 216 rows (14 dropped)"
    assert note not in state.warnings and note not in state.errors
    app = next(r for r in state.resources if r.name == "Application ID")
    allowed = set(app.attributes["tags"][0]["allowedValues"])
    assert len(allowed) == 200
    assert {"APP-00230", "APP-01583", "APP-01677"}.isdisjoint(allowed)  # Retired, retired , RETIRED
