"""The ServiceNow Table API side of the sandbox: tables from CSV, auth, queries, paging, faults."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.cli import main
from reconciler.sandbox import SandboxError
from reconciler.sandbox.embedded import ServiceNowEndpoint, embedded_servicenow
from reconciler.sandbox.servicenow import load, parse_query, read_table
from tests.helpers.sandbox import (
    BUSINESS_APPS,
    MakeSandbox,
    MakeServiceNow,
    ServiceNowServer,
    local_session,
)

APPS = "cmdb_ci_business_app"
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sandbox.md"
UNAUTHENTICATED = {
    "error": {
        "message": "User Not Authenticated",
        "detail": "Required to provide Auth information",
    },
    "status": "failure",
}


def fixture_rows() -> list[dict[str, str]]:
    with BUSINESS_APPS.open(newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = fixture_rows()
RETIRED = [row for row in ROWS if row["install_status"] == "7"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue())
    return path


def result(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()["result"]


def app_ids(records: list[dict[str, str]]) -> list[str]:
    return [record["u_app_id"] for record in records]


# the fixture table


def test_the_fixture_is_a_servicenow_export() -> None:
    assert list(ROWS[0]) == ["sys_id", "u_app_id", "name", "operational_status", "install_status"]
    assert len(ROWS) == 300 and len(RETIRED) == 37
    assert len({row["sys_id"] for row in ROWS}) == 300
    assert any("," in row["name"] for row in ROWS)


def test_every_row_is_served_as_strings_in_file_order(servicenow: ServiceNowServer) -> None:
    response = servicenow.get(APPS)
    assert result(response) == ROWS
    assert response.headers["X-Total-Count"] == "300"


# authentication


def test_basic_and_bearer_authenticate(servicenow: ServiceNowServer) -> None:
    assert len(result(servicenow.get(APPS, sysparm_limit=1))) == 1
    with local_session(servicenow.token) as bearer:
        assert len(result(bearer.get(servicenow.table_url(APPS), timeout=10))) == 300


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic"},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic YWRtaW4="},  # "admin", no colon
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Token sandbox-token"},
    ],
)
def test_missing_or_malformed_credentials_are_401(
    servicenow: ServiceNowServer, headers: dict[str, str]
) -> None:
    with local_session() as session:
        response = session.get(servicenow.table_url(APPS), headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == UNAUTHENTICATED


@pytest.mark.parametrize(("user", "password"), [("admin", "wrong"), ("root", "sandbox-password")])
def test_a_wrong_user_or_password_is_401_before_anything_else(
    servicenow: ServiceNowServer, user: str, password: str
) -> None:
    with local_session() as session:
        for url in (servicenow.table_url(APPS), servicenow.table_url("no_such_table")):
            response = session.get(url, auth=(user, password), timeout=10)
            assert response.status_code == 401 and response.json() == UNAUTHENTICATED
            assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_without_a_token_bearer_is_refused(make_servicenow: MakeServiceNow) -> None:
    instance = make_servicenow(token=None, user="svc", password="p:w")  # a colon in the password
    assert len(result(instance.get(APPS, sysparm_limit=1))) == 1
    with local_session("sandbox-token") as bearer:
        assert bearer.get(instance.table_url(APPS), timeout=10).status_code == 401


# tables and records


def test_an_unknown_table_is_400(servicenow: ServiceNowServer) -> None:
    for response in (servicenow.get("incident"), servicenow.get("incident", ROWS[0]["sys_id"])):
        assert response.status_code == 400
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {
            "error": {"message": "Invalid table incident", "detail": None},
            "status": "failure",
        }


def test_one_record_by_sys_id(servicenow: ServiceNowServer) -> None:
    row = ROWS[41]
    assert result(servicenow.get(APPS, row["sys_id"])) == row
    assert result(servicenow.get(APPS, row["sys_id"], sysparm_fields="name,u_nope")) == {
        "name": row["name"]
    }
    missing = servicenow.get(APPS, "0" * 32)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "No Record found"
    assert missing.json()["status"] == "failure"


def test_the_v2_path_answers_the_same(servicenow: ServiceNowServer) -> None:
    params = {"sysparm_query": "install_status=7", "sysparm_limit": "10", "sysparm_offset": "10"}
    v1 = servicenow.get(APPS, **params)
    v2 = servicenow.session.get(f"{servicenow.url}/api/now/v2/table/{APPS}", params=params)
    assert result(v2) == result(v1)
    assert v2.headers["X-Total-Count"] == v1.headers["X-Total-Count"] == "37"
    assert v2.links["next"]["url"].startswith(f"{servicenow.url}/api/now/v2/table/{APPS}?")
    one = servicenow.session.get(f"{servicenow.url}/api/now/v2/table/{APPS}/{ROWS[0]['sys_id']}")
    assert result(one) == ROWS[0]


def test_other_paths_and_methods_answer_in_servicenow_s_shape(
    servicenow: ServiceNowServer,
) -> None:
    posted = servicenow.session.post(servicenow.table_url(APPS), json={}, timeout=10)
    assert posted.status_code == 405 and posted.headers["Allow"]
    assert posted.json()["status"] == "failure" and "POST" in posted.json()["error"]["message"]
    deeper = servicenow.session.get(servicenow.table_url(APPS, "a", "b"), timeout=10)
    assert deeper.status_code == 404 and deeper.json()["status"] == "failure"


def test_the_infracost_side_is_unchanged_beside_it(
    servicenow: ServiceNowServer, make_sandbox: MakeSandbox
) -> None:
    with local_session() as session:
        health = session.get(f"{servicenow.url}/_sandbox/health", timeout=10)
        assert health.json() == {"status": "ok"}
        v1 = session.get(f"{servicenow.url}/v1/orgs/acme/guardrails", timeout=10)
        assert v1.status_code == 401 and "errors" in v1.json()  # JSON:API, as ever
        plain = make_sandbox()  # no tables: no ServiceNow routes at all
        absent = session.get(f"{plain.url}/api/now/table/{APPS}", auth=("admin", "x"), timeout=10)
        assert absent.status_code == 404 and "errors" in absent.json()


# sysparm_fields


def test_sysparm_fields_keeps_those_fields_in_that_order(servicenow: ServiceNowServer) -> None:
    records = result(servicenow.get(APPS, sysparm_fields=" name,u_app_id,u_nope,name"))
    assert records[0] == {"name": ROWS[0]["name"], "u_app_id": ROWS[0]["u_app_id"]}
    assert [list(record) for record in records] == [["name", "u_app_id"]] * 300
    assert result(servicenow.get(APPS, sysparm_fields="u_nope", sysparm_limit=2)) == [{}, {}]
    assert result(servicenow.get(APPS, sysparm_fields="", sysparm_limit=1)) == ROWS[:1]


def test_display_value_and_reference_links_are_accepted_and_ignored(
    servicenow: ServiceNowServer,
) -> None:
    params = {"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"}
    assert result(servicenow.get(APPS, sysparm_limit=3, **params)) == ROWS[:3]


# paging


def test_three_pages_with_link_and_total(servicenow: ServiceNowServer) -> None:
    url: str | None = servicenow.table_url(APPS) + "?sysparm_limit=100&sysparm_fields=u_app_id"
    pages: list[requests.Response] = []
    while url is not None:
        response = servicenow.session.get(url, timeout=10)
        pages.append(response)
        url = response.links.get("next", {}).get("url")
    assert len(pages) == 3
    assert app_ids([r for page in pages for r in result(page)]) == app_ids(ROWS)
    assert {page.headers["X-Total-Count"] for page in pages} == {"300"}
    offsets = [{rel: _offset(link["url"]) for rel, link in p.links.items()} for p in pages]
    assert offsets == [
        {"first": 0, "next": 100, "last": 200},
        {"first": 0, "prev": 0, "next": 200, "last": 200},
        {"first": 0, "prev": 100, "last": 200},
    ]
    header = pages[1].headers["Link"]
    assert header.startswith(f"<{servicenow.url}/api/now/table/{APPS}?")
    assert re.fullmatch(r'(<http://[^>]+>;rel="(first|prev|next|last)",?){4}', header)
    for link in pages[1].links.values():  # every other parameter kept
        assert "sysparm_limit=100" in link["url"] and "sysparm_fields=u_app_id" in link["url"]


def _offset(url: str) -> int:
    found = re.findall(r"[?&]sysparm_offset=(\d+)", url)
    assert len(found) == 1, url
    return int(found[0])


def test_links_keep_the_query_and_place_the_offset(servicenow: ServiceNowServer) -> None:
    query = "install_status=7^ORDERBYDESCu_app_id"
    response = servicenow.get(APPS, sysparm_offset=10, sysparm_query=query, sysparm_limit=10)
    assert response.headers["X-Total-Count"] == "37"
    links = response.links
    assert {rel: _offset(link["url"]) for rel, link in links.items()} == {
        "first": 0,
        "prev": 0,
        "next": 20,
        "last": 30,
    }
    assert (
        "?sysparm_offset=20&sysparm_query=install_status%3D7%5EORDERBYDESCu_app_id&"
        in (links["next"]["url"])
    )
    following = servicenow.session.get(links["next"]["url"], timeout=10)
    expected = sorted(app_ids(RETIRED), reverse=True)[20:30]
    assert app_ids(result(following)) == expected


def test_an_offset_past_the_end_is_an_empty_page(servicenow: ServiceNowServer) -> None:
    response = servicenow.get(APPS, sysparm_limit=100, sysparm_offset=1000)
    assert result(response) == [] and response.headers["X-Total-Count"] == "300"
    assert set(response.links) == {"first", "prev", "last"}
    nothing = servicenow.get(APPS, sysparm_query="u_app_id=APP-99999")
    assert result(nothing) == [] and nothing.headers["X-Total-Count"] == "0"
    assert {rel: _offset(link["url"]) for rel, link in nothing.links.items()} == {
        "first": 0,
        "last": 0,
    }


@pytest.mark.parametrize(
    "params",
    [
        {"sysparm_limit": "0"},
        {"sysparm_limit": "-1"},
        {"sysparm_limit": "ten"},
        {"sysparm_offset": "-5"},
        {"sysparm_offset": "1.5"},
    ],
)
def test_bad_paging_parameters_are_400(
    servicenow: ServiceNowServer, params: dict[str, str]
) -> None:
    response = servicenow.get(APPS, **params)
    assert response.status_code == 400
    name = next(iter(params))
    assert response.json()["error"]["message"] == f"Invalid {name}"
    assert "whole number" in response.json()["error"]["detail"]


def test_at_most_10000_records_per_request(make_servicenow: MakeServiceNow, tmp_path: Path) -> None:
    rows = [[f"APP-{n:05d}"] for n in range(10_050)]
    instance = make_servicenow({"big": write_csv(tmp_path / "big.csv", ["u_app_id"], rows)})
    for response in (instance.get("big"), instance.get("big", sysparm_limit=20_000)):
        assert len(result(response)) == 10_000
        assert response.headers["X-Total-Count"] == "10050"
        assert _offset(response.links["next"]["url"]) == 10_000


# the encoded query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("install_status=7", [r for r in ROWS if r["install_status"] == "7"]),
        ("install_status!=1", [r for r in ROWS if r["install_status"] != "1"]),
        ("u_app_idINAPP-00007,APP-00014,APP-12345", ROWS[:2]),
        (
            "operational_status=2^install_status=1",
            [r for r in ROWS if r["operational_status"] == "2" and r["install_status"] == "1"],
        ),
        ("u_app_id=APP-00007^ORu_app_id=APP-00021^ORname=nope", [ROWS[0], ROWS[2]]),
        ("u_app_id=APP-00007^NQu_app_id=APP-00014", ROWS[:2]),
        ("^install_status=7^EQ", RETIRED),
    ],
)
def test_query_operators(
    servicenow: ServiceNowServer, query: str, expected: list[dict[str, str]]
) -> None:
    response = servicenow.get(APPS, sysparm_query=query)
    assert result(response) == expected
    assert response.headers["X-Total-Count"] == str(len(expected))


def test_order_by(servicenow: ServiceNowServer) -> None:
    descending = result(servicenow.get(APPS, sysparm_query="ORDERBYDESCu_app_id"))
    assert app_ids(descending) == sorted(app_ids(ROWS), reverse=True)
    two_keys = result(servicenow.get(APPS, sysparm_query="ORDERBYinstall_status^ORDERBYDESCname"))
    expected = sorted(ROWS, key=lambda r: r["name"], reverse=True)
    expected.sort(key=lambda r: r["install_status"])
    assert two_keys == expected


def test_string_operators(make_servicenow: MakeServiceNow, tmp_path: Path) -> None:
    rows = [["a", "Payments API"], ["b", ""], ["c", "payments-worker"], ["d", "Search"]]
    instance = make_servicenow({"apps": write_csv(tmp_path / "t.csv", ["sys_id", "name"], rows)})

    def ids(query: str) -> list[str]:
        return [record["sys_id"] for record in result(instance.get("apps", sysparm_query=query))]

    assert ids("nameLIKEPAYMENTS") == ["a", "c"]
    assert ids("nameNOT LIKEpayments") == ["b", "d"]
    assert ids("nameSTARTSWITHpay") == ["a", "c"]
    assert ids("nameENDSWITHapi") == ["a"]
    assert ids("nameISEMPTY") == ["b"]
    assert ids("nameISNOTEMPTY") == ["a", "c", "d"]
    assert ids("nameNOT INSearch,") == ["a", "c"]
    assert ids("name=payments api") == []  # = is exact
    assert ids("sys_id=c^ORnameISEMPTY^ORDERBYDESCsys_id") == ["c", "b"]


@pytest.mark.parametrize(
    "query",
    [
        "u_missing=1",
        "u_missing=1^ORu_other=2",
        "ORDERBYu_missing",
        "u_missingINa,b^u_app_idxISEMPTY",
        "owner.name=someone",  # dot-walking: no such field here either
    ],
)
def test_a_condition_on_an_unknown_field_is_ignored(
    servicenow: ServiceNowServer, query: str
) -> None:
    """The quirk: the invalid part is dropped and every row comes back, as on an instance."""
    response = servicenow.get(APPS, sysparm_query=query)
    assert result(response) == ROWS and response.headers["X-Total-Count"] == "300"


def test_only_the_unknown_part_of_a_query_is_dropped(servicenow: ServiceNowServer) -> None:
    for query in ("u_missing=1^install_status=7", "install_status=7^ORu_missing=1"):
        assert result(servicenow.get(APPS, sysparm_query=query)) == RETIRED
    both = "u_missing=1^ORinstall_status=7^ORDERBYDESCu_app_id"
    assert app_ids(result(servicenow.get(APPS, sysparm_query=both))) == sorted(
        app_ids(RETIRED), reverse=True
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("install_status<3", "cannot read the condition 'install_status<3'"),
        ("u_missing>=3", "cannot read the condition 'u_missing>=3'"),
        ("active", "cannot read the condition 'active'"),
        ("ORinstall_status=7", "^OR with no condition before it"),
        ("NQinstall_status=7", "^NQ must come between two queries"),
        ("install_status=7^NQ", "^NQ must come between two queries"),
        ("install_status=7^NQ^name=x", "^NQ must come between two queries"),
        ("install_statusISEMPTY7", "ISEMPTY takes no value"),
        ("ORDERBY", "ORDERBY names no field"),
        ("sys_created_on>javascript:gs.daysAgo(7)", "cannot read the condition"),
    ],
)
def test_a_query_the_sandbox_cannot_read_is_400(
    servicenow: ServiceNowServer, query: str, message: str
) -> None:
    response = servicenow.get(APPS, sysparm_query=query)
    assert response.status_code == 400
    assert response.json()["status"] == "failure"
    assert message in response.json()["error"]["message"]


def test_parse_query_prefers_the_longest_known_field() -> None:
    """A field may end like an operator begins (``xIN``): the table's own fields decide."""
    query = parse_query("u_loginINa,b^u_login=c", ["u_login", "u_log"])
    [[first, second]] = query.queries
    assert (first[0].field, first[0].operator, first[0].value) == ("u_login", "IN", "a,b")
    assert (second[0].field, second[0].operator, second[0].value) == ("u_login", "=", "c")


# loading tables


def test_a_table_without_sys_id_gets_a_deterministic_one(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", ["name", "u_app_id"], [["a", "1"], ["b", "2"]])
    table = read_table("cmdb_ci_service", path)
    assert table.fields == ("sys_id", "name", "u_app_id")
    ids = [record["sys_id"] for record in table.records]
    assert all(re.fullmatch(r"[0-9a-f]{32}", sys_id) for sys_id in ids) and len(set(ids)) == 2
    assert [r["sys_id"] for r in read_table("cmdb_ci_service", path).records] == ids
    assert [r["sys_id"] for r in read_table("cmdb_ci_appl", path).records] != ids
    assert table.get(ids[1]) == {"sys_id": ids[1], "name": "b", "u_app_id": "2"}


def test_a_header_only_table_is_empty(make_servicenow: MakeServiceNow, tmp_path: Path) -> None:
    instance = make_servicenow({"empty": write_csv(tmp_path / "e.csv", ["name"], [])})
    response = instance.get("empty")
    assert result(response) == [] and response.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("Apps", b"name\na\n", "ServiceNow table name 'Apps'"),
        ("apps", b"", "empty: expected a header row"),
        ("apps", b"name,name\na,b\n", "field 'name' appears twice"),
        ("apps", b"name, \na,b\n", "column 2 of the header has no name"),
        ("apps", b"name,u_app_id\na\n", "line 2: 1 fields, the header has 2"),
        ("apps", b"sys_id,name\n1,a\n1,b\n", "sys_id '1' twice"),
        ("apps", b"sys_id,name\n,a\n", "an empty sys_id"),
        ("apps", b"name\n\xff\n", "not UTF-8 (byte 5)"),
        ("apps", b'name\n"a\n', "line"),
    ],
)
def test_tables_that_cannot_be_served_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(SandboxError, match=re.escape(message)) as caught:
        load({name: path}, user="admin", password="pw")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"user": "", "password": "pw"}, "user"),
        ({"user": "a:b", "password": "pw"}, "user"),
        ({"user": "admin", "password": ""}, "password"),
        ({"user": "admin", "password": "pw", "token": " "}, "token"),
    ],
)
def test_credentials_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        load({"apps": BUSINESS_APPS}, **options)


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    service = load({"apps": BUSINESS_APPS}, user="admin", password="pw-123", token="tok-456")
    assert "pw-123" not in repr(service) and "tok-456" not in repr(service)


# faults


def test_three_pages_with_a_429_in_between(servicenow: ServiceNowServer) -> None:
    servicenow.set_faults("script=ok,429,ok")
    first = servicenow.get(APPS, sysparm_limit=100)
    assert len(result(first)) == 100
    throttled = servicenow.session.get(first.links["next"]["url"], timeout=10)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert throttled.headers["Content-Type"] == "application/json"
    assert throttled.json()["status"] == "failure"
    assert throttled.json()["error"]["message"] == "Too many requests"
    second = servicenow.session.get(first.links["next"]["url"], timeout=10)  # the retry
    third = servicenow.session.get(second.links["next"]["url"], timeout=10)
    records = result(first) + result(second) + result(third)
    assert app_ids(records) == app_ids(ROWS) and "next" not in third.links


def test_faults_come_after_authentication(servicenow: ServiceNowServer) -> None:
    servicenow.set_faults("script=503")
    with local_session() as session:
        wrong = session.get(servicenow.table_url(APPS), auth=("admin", "nope"), timeout=10)
    assert wrong.status_code == 401  # the script step is still there
    failed = servicenow.get(APPS, sysparm_limit=1)
    assert failed.status_code == 503 and failed.json()["status"] == "failure"
    assert servicenow.get(APPS, sysparm_limit=1).status_code == 200


def test_a_dropped_connection(servicenow: ServiceNowServer) -> None:
    servicenow.set_faults("script=drop")
    with pytest.raises(requests.ConnectionError):
        servicenow.get(APPS, sysparm_limit=1)
    assert servicenow.get(APPS, sysparm_limit=1).status_code == 200


def test_the_behaviour_route(make_servicenow: MakeServiceNow) -> None:
    instance = make_servicenow(faults="script=503,503")
    route = f"{instance.url}/_sandbox/servicenow/behaviour"
    session = instance.session
    assert session.get(route, timeout=10).json() == {"faults": "script=503,503", "quirks": []}
    assert instance.get(APPS).status_code == 503  # the server's faults apply here too
    put = session.put(route, json={"faults": "latency_ms=1,seed=3"}, timeout=10)
    assert put.json() == {"faults": "latency_ms=1,seed=3", "quirks": []}
    assert instance.get(APPS, sysparm_limit=1).status_code == 200
    instance.reset()  # back to the server's spec, where one step of its script is left
    assert session.get(route, timeout=10).json()["faults"] == "script=503,503"
    assert instance.get(APPS).status_code == 503
    assert instance.get(APPS).status_code == 200
    bad = session.put(route, json={"faults": "error_rate=2"}, timeout=10)
    assert bad.status_code == 400 and "between 0 and 1" in bad.json()["error"]["message"]
    quirky = session.put(route, json={"faults": "", "quirks": "reorder"}, timeout=10)
    assert quirky.status_code == 400 and "no quirks" in quirky.json()["error"]["message"]
    assert session.put(route, data="faults", timeout=10).status_code == 400
    with local_session() as anonymous:
        assert anonymous.put(route, json={"faults": "script=503"}, timeout=10).status_code == 401
    assert instance.get(APPS, sysparm_limit=1).status_code == 200


# embedded


def test_embedded_servicenow_serves_on_loopback_for_the_block(tmp_path: Path) -> None:
    with embedded_servicenow({APPS: BUSINESS_APPS}) as instance, local_session() as session:
        assert isinstance(instance, ServiceNowEndpoint)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", instance.base_url)
        assert instance.user == "admin" and len(instance.password) >= 24
        assert instance.password not in repr(instance) and instance.token not in repr(instance)
        url = f"{instance.base_url}/api/now/table/{APPS}"
        response = session.get(url, auth=(instance.user, instance.password), timeout=10)
        assert len(result(response)) == 300
        bearer = {"Authorization": f"Bearer {instance.token}"}
        assert session.get(url, headers=bearer, timeout=10).status_code == 200
        first = instance
    with pytest.raises(requests.ConnectionError), local_session() as session:
        session.get(f"{first.base_url}/api/now/table/{APPS}", timeout=2)
    with embedded_servicenow({APPS: BUSINESS_APPS}) as again:
        assert again.password != first.password and again.token != first.token


def test_embedded_servicenow_refuses_a_bad_table(tmp_path: Path) -> None:
    with (
        pytest.raises(SandboxError, match="cannot read"),
        embedded_servicenow({APPS: tmp_path / "missing.csv"}),
    ):
        pass


# reconciler sandbox serve --servicenow-table


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, env=env or {}, cwd=cwd)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--servicenow-table", "apps"], "expected NAME=FILE.csv, got 'apps'"),
        (["--servicenow-table", "=x.csv"], "expected NAME=FILE.csv"),
        (["--servicenow-table", "apps=missing.csv"], "ServiceNow table apps"),
        (["--servicenow-table", "Apps=apps.csv"], "ServiceNow table name 'Apps'"),
        (
            ["--servicenow-table", "apps=apps.csv", "--servicenow-table", "apps=apps.csv"],
            "table 'apps' given twice",
        ),
    ],
)
def test_serve_refuses_tables_it_cannot_serve(
    tmp_path: Path, args: list[str], message: str
) -> None:
    shutil.copy(BUSINESS_APPS, tmp_path / "apps.csv")
    code, out, err = run("sandbox", "serve", "--port", "0", *args, cwd=tmp_path)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / ".reconciler").exists()


@pytest.fixture
def serve_tables(tmp_path: Path) -> Iterator[Any]:
    """Start ``reconciler sandbox serve --port 0 --servicenow-table ...`` as a real process."""
    processes: list[subprocess.Popen[str]] = []

    def start(extra_env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env = {k: v for k, v in env.items() if not k.startswith("SERVICENOW_")} | extra_env
        shutil.copy(BUSINESS_APPS, tmp_path / "apps.csv")
        (tmp_path / "services.csv").write_text("name,u_app_id\nCheckout,APP-1\n")
        command = [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0"]
        command += ["--servicenow-table", f"{APPS}=apps.csv"]
        command += ["--servicenow-table", "cmdb_ci_service=services.csv"]
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None and process.stderr is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        lines = [process.stderr.readline() for _ in range(4)]
        return process, url, lines

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)


def test_serve_with_a_random_password(serve_tables: Any) -> None:
    process, url, lines = serve_tables({})
    assert lines[2] == (
        f"ServiceNow Table API at {url}/api/now/table/ (tables: {APPS}, cmdb_ci_service)\n"
    )
    found = re.fullmatch(r"ServiceNow user admin, password (\S+)\n", lines[3])
    assert found, lines[3]
    password = found[1]
    with local_session() as session:
        apps = session.get(f"{url}/api/now/table/{APPS}", auth=("admin", password), timeout=10)
        assert len(result(apps)) == 300
        other = session.get(
            f"{url}/api/now/table/cmdb_ci_service", auth=("admin", password), timeout=10
        )
        assert [r["name"] for r in result(other)] == ["Checkout"]
        wrong = session.get(f"{url}/api/now/table/{APPS}", auth=("admin", "admin"), timeout=10)
        assert wrong.status_code == 401
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and out == ""
    assert "Sandbox stopped." in err and password not in err  # printed once, at start-up


def test_serve_with_credentials_from_the_environment(serve_tables: Any) -> None:
    env = {"SERVICENOW_USER": "integration", "SERVICENOW_PASSWORD": "env-secret-42"}
    process, url, lines = serve_tables(env)
    assert lines[3] == "ServiceNow user integration, password from $SERVICENOW_PASSWORD\n"
    with local_session() as session:
        ok = session.get(
            f"{url}/api/now/table/{APPS}",
            params={"sysparm_limit": "1"},
            auth=("integration", "env-secret-42"),
            timeout=10,
        )
        assert len(result(ok)) == 1
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "env-secret-42" not in "".join(lines) + out + err


def test_the_documented_start_up_lines(serve_tables: Any) -> None:
    env = {"SERVICENOW_USER": "admin", "SERVICENOW_PASSWORD": "sandbox-password"}
    _, url, lines = serve_tables(env)
    block = DOC.read_text().split("$ reconciler sandbox serve --servicenow-table", 1)[1]
    documented = block.split("```", 1)[0].splitlines()[2:]
    port = url.rsplit(":", 1)[1]
    assert [
        line.replace(":8787", f":{port}").replace(f"{APPS})", f"{APPS}, cmdb_ci_service)")
        for line in documented[2:]
    ] == [line.removesuffix("\n") for line in lines[2:]]


# the curl examples of docs/sandbox.md ("The ServiceNow Table API", "Try it")


def documented_examples() -> list[tuple[str, list[str]]]:
    section = DOC.read_text().split("## The ServiceNow Table API", 1)[1]
    block = section.split("In another (headers trimmed", 1)[1].split("```console\n", 1)[1]
    examples: list[tuple[str, list[str]]] = []
    for line in block.split("\n```", 1)[0].splitlines():
        if line.startswith("$ curl "):
            examples.append((line.removeprefix("$ "), []))
        elif not line.startswith("$ "):
            examples[-1][1].append(line)
    return examples


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_documented_curl_examples(servicenow: ServiceNowServer, tmp_path: Path) -> None:
    examples = documented_examples()
    assert len(examples) == 8
    (tmp_path / ".curlrc").write_text('silent\nshow-error\nnoproxy = "*"\n')
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "CURL_HOME": str(tmp_path),
        "URL": servicenow.url,
        "SERVICENOW_USER": servicenow.user,
        "SERVICENOW_PASSWORD": servicenow.password,
    }
    for command, documented in examples:  # in order: the last two switch a fault on, then meet it
        output = subprocess.run(
            ["sh", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        lines = [line.rstrip("\r") for line in output.splitlines() if line.strip()]
        expected = [line.replace("http://127.0.0.1:8787", servicenow.url) for line in documented]
        if " -i " in command or "-D -" in command:  # headers trimmed in the docs
            assert all(line in lines for line in expected), (command, lines)
        else:
            assert lines == expected, command
