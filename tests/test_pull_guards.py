"""The pull stage's pure parts on literal data: the query re-check and the guards."""

from __future__ import annotations

from pathlib import Path

from reconciler.pull import Condition, FileResult, Pull, Query, _build


def test_simple_conditions_are_parsed() -> None:
    q = Query.parse("operational_status=1^install_status!=7^u_tierIN1,2")
    assert q.checked
    assert q.conditions == (
        Condition("operational_status", "=", ("1",)),
        Condition("install_status", "!=", ("7",)),
        Condition("u_tier", "IN", ("1", "2")),
    )
    assert Query.parse("") == Query("", (), True)


def test_complex_queries_are_trusted_to_the_server() -> None:
    for text in ("a=1^ORb=2", "nameLIKEpay", "a=1^ORDERBYname", "a=1^NQb=2"):
        assert not Query.parse(text).checked, text


def _pull(
    query: str = "", fields: tuple[str, ...] = ("u_app_id", "name"), shrink: float = 10
) -> Pull:
    return Pull(0, "cmdb", "cmdb_ci_business_app", Query.parse(query), fields, "apps.csv", shrink)


def _result(tmp_path: Path, p: Pull, old: str | None = None) -> FileResult:
    path = tmp_path / "apps.csv"
    if old is not None:
        path.write_text(old, encoding="utf-8")
    return FileResult(p, path)


RECORDS = [
    {"sys_id": "1", "u_app_id": "APP-2", "name": "Billing", "operational_status": "1"},
    {"sys_id": "2", "u_app_id": "APP-1", "name": "Search, new", "operational_status": "1"},
]


def test_the_file_is_sorted_quoted_and_lf(tmp_path: Path) -> None:
    result = _result(tmp_path, _pull("operational_status=1"))
    _build(result, RECORDS, allow_shrink=False)
    assert result.refusals == []
    assert result.text == 'u_app_id,name\nAPP-1,"Search, new"\nAPP-2,Billing\n'
    assert result.added == ["APP-1", "APP-2"] and result.changed
    assert result.notes == ["every record re-checked against the 1 condition(s) of the query"]


def test_a_condition_on_a_missing_field_is_refused(tmp_path: Path) -> None:
    result = _result(tmp_path, _pull("u_operational_status=1"))
    _build(result, RECORDS, allow_shrink=False)
    assert result.refusals == [
        "cmdb_ci_business_app has no field 'u_operational_status' (ServiceNow ignores a "
        "condition on a field that does not exist and returns every row)"
    ]
    assert result.text == ""


def test_records_the_server_should_have_filtered_out_are_refused(tmp_path: Path) -> None:
    records = [
        *RECORDS,
        {"sys_id": "3", "u_app_id": "APP-3", "name": "Old", "operational_status": "2"},
    ]
    result = _result(tmp_path, _pull("operational_status=1"))
    _build(result, records, allow_shrink=False)
    assert len(result.refusals) == 1 and "1 records do not match" in result.refusals[0]
    assert "sys_id 3" in result.refusals[0]


def test_a_misspelled_field_and_an_empty_answer_are_refused(tmp_path: Path) -> None:
    result = _result(tmp_path, _pull(fields=("u_app_idd",)))
    _build(result, RECORDS, allow_shrink=False)
    assert "has no field 'u_app_idd'" in result.refusals[0]
    empty = _result(tmp_path, _pull())
    _build(empty, [], allow_shrink=False)
    assert "returned no records" in empty.refusals[0]


def test_a_shrink_beyond_max_shrink_is_refused_unless_allowed(tmp_path: Path) -> None:
    old = "u_app_id,name\n" + "".join(f"APP-{i},n\n" for i in range(10))
    result = _result(tmp_path, _pull(), old)
    _build(result, RECORDS, allow_shrink=False)
    assert "2 rows where the file has 10" in result.refusals[0]
    assert "--allow-shrink" in result.refusals[0]
    allowed = _result(tmp_path, _pull(), old)
    _build(allowed, RECORDS, allow_shrink=True)
    assert allowed.refusals == [] and allowed.changed
    # APP-1 and APP-2 stay, with other names: changed, not removed and added
    assert allowed.updated == ["APP-1", "APP-2"] and allowed.added == []
    assert len(allowed.removed) == 8


def test_the_same_rows_are_no_change(tmp_path: Path) -> None:
    first = _result(tmp_path, _pull())
    _build(first, RECORDS, allow_shrink=False)
    again = _result(tmp_path, _pull(), first.text)
    _build(again, list(reversed(RECORDS)), allow_shrink=False)
    assert not again.changed and again.added == [] and again.removed == []
