"""Every endpoint and status code of the sandbox API, over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from tests.helpers.sandbox import SandboxOrg

POLICIES = "tagging-policies"
GUARDRAILS = "guardrails"

POLICY_DEFAULTS: dict[str, Any] = {
    "name": "p",
    "message": "",
    "prComment": True,
    "blockPr": False,
    "filters": {},
    "tags": [
        {
            "key": "env",
            "mandatory": False,
            "valueType": "ANY",
            "allowedValues": [],
            "allowedRegex": "",
            "message": "",
        }
    ],
}

GUARDRAIL_DEFAULTS: dict[str, Any] = {
    "name": "g",
    "scope": "PULL_REQUEST",
    "increaseThreshold": None,
    "increasePercentThreshold": None,
    "totalThreshold": None,
    "message": "",
    "webhookUrl": "",
    "prComment": False,
    "blockPr": False,
    "emailRecipientOrgMemberIds": [],
    "mailingListEmails": [],
    "msTeamsEmails": [],
    "filters": {},
}


def errors(response: requests.Response) -> list[tuple[str, str | None]]:
    """(status, pointer) of each JSON:API error."""
    return [(e["status"], e.get("source", {}).get("pointer")) for e in response.json()["errors"]]


def doc(attributes: Any, type_: str | None = None, **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"attributes": attributes, **data}
    if type_ is not None:
        body["type"] = type_
    return {"data": body}


# create, read, list, delete


def test_create_policy_answers_201_with_defaults_filled(sandbox_org: SandboxOrg) -> None:
    response = sandbox_org.request(
        "POST", POLICIES, json=doc({"name": "p", "tags": [{"key": "env"}]}, POLICIES)
    )
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    data = response.json()["data"]
    assert set(data) == {"id", "type", "attributes"}
    assert data["type"] == POLICIES
    assert data["attributes"] == POLICY_DEFAULTS
    assert response.headers["Location"] == sandbox_org.path(POLICIES, data["id"])


def test_create_guardrail_answers_201_with_defaults_filled(sandbox_org: SandboxOrg) -> None:
    data = sandbox_org.create(GUARDRAILS, {"name": "g", "scope": "PULL_REQUEST"})
    assert data["type"] == GUARDRAILS
    assert data["attributes"] == GUARDRAIL_DEFAULTS


def test_get_one_and_list(sandbox_org: SandboxOrg) -> None:
    first = sandbox_org.policy("first")
    second = sandbox_org.policy("second")
    one = sandbox_org.request("GET", POLICIES, first["id"])
    assert one.status_code == 200 and one.json() == {"data": first}
    listed = sandbox_org.request("GET", POLICIES)
    assert listed.status_code == 200
    assert listed.json() == {"data": [first, second]}  # creation order
    assert sandbox_org.request("GET", GUARDRAILS).json() == {"data": []}


def test_delete_answers_204_then_404(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy()
    response = sandbox_org.request("DELETE", POLICIES, policy["id"])
    assert response.status_code == 204 and response.content == b""
    assert sandbox_org.request("GET", POLICIES, policy["id"]).status_code == 404
    again = sandbox_org.request("DELETE", POLICIES, policy["id"])
    assert again.status_code == 404 and errors(again) == [("404", None)]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("object_id", ["5a0e8d7c-1111-4222-8333-944445555666", "not-a-uuid"])
def test_unknown_id_is_404(sandbox_org: SandboxOrg, method: str, object_id: str) -> None:
    response = sandbox_org.request(method, GUARDRAILS, object_id, json=doc({"name": "x"}))
    assert response.status_code == 404
    assert errors(response) == [("404", None)]


def test_kinds_do_not_mix(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy()
    assert sandbox_org.request("GET", GUARDRAILS, policy["id"]).status_code == 404


def test_unsupported_method_is_405_with_allow(sandbox_org: SandboxOrg) -> None:
    response = sandbox_org.request("PUT", POLICIES)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.json()["errors"][0]["status"] == "405"


def test_unknown_route_is_404_json(sandbox_org: SandboxOrg) -> None:
    response = sandbox_org.request("GET", "budgets")
    assert response.status_code == 404 and errors(response) == [("404", None)]


def test_two_objects_may_share_a_name(sandbox_org: SandboxOrg) -> None:
    a = sandbox_org.guardrail("same")
    b = sandbox_org.guardrail("same")
    assert a["id"] != b["id"]
    assert [
        g["attributes"]["name"] for g in sandbox_org.request("GET", GUARDRAILS).json()["data"]
    ] == [
        "same",
        "same",
    ]


def test_numbers_keep_their_type(sandbox_org: SandboxOrg) -> None:
    data = sandbox_org.guardrail(
        increaseThreshold=100, increasePercentThreshold=12.5, totalThreshold=0
    )
    attributes = sandbox_org.request("GET", GUARDRAILS, data["id"]).json()["data"]["attributes"]
    assert attributes["increaseThreshold"] == 100 and type(attributes["increaseThreshold"]) is int
    assert attributes["increasePercentThreshold"] == 12.5
    assert type(attributes["totalThreshold"]) is int
    floaty = sandbox_org.guardrail(increaseThreshold=100.0)
    response = sandbox_org.request("GET", GUARDRAILS, floaty["id"])
    assert '"increaseThreshold": 100.0' in response.text


def test_lists_and_unknown_nested_keys_come_back_as_sent(sandbox_org: SandboxOrg) -> None:
    tags = [
        {
            "key": "team",
            "valueType": "LIST",
            "allowedValues": ["z", "a", "m"],
            "futureField": {"x": 1},
        },
        {"key": "env", "valueType": "REGEX", "allowedRegex": "^(dev|prod)$", "mandatory": True},
    ]
    filters = {
        "repos": {"include": ["b/*", "a/*"], "exclude": [], "matchMode": "glob"},
        "resources": {"exclude": ["aws_s3_*"]},
        "labels": {"include": ["x"]},
    }
    data = sandbox_org.policy("p", tags=tags, filters=filters, blockPr=True, message="fix it")
    attributes = data["attributes"]
    assert [t["key"] for t in attributes["tags"]] == ["team", "env"]
    assert attributes["tags"][0]["allowedValues"] == ["z", "a", "m"]
    assert attributes["tags"][0]["futureField"] == {"x": 1}
    assert attributes["filters"] == {
        "repos": {"include": ["b/*", "a/*"], "exclude": [], "matchMode": "glob"},
        "resources": {"include": [], "exclude": ["aws_s3_*"]},
        "labels": {"include": ["x"]},
    }
    assert sandbox_org.request("GET", POLICIES, data["id"]).json()["data"] == data


def test_guardrail_with_every_attribute(sandbox_org: SandboxOrg) -> None:
    attributes = {
        "name": "all",
        "scope": "REPO",
        "increaseThreshold": 1,
        "increasePercentThreshold": 2.5,
        "totalThreshold": 1000,
        "message": "m",
        "webhookUrl": "https://hooks.slack.com/services/T/B/X",
        "prComment": True,
        "blockPr": True,
        "emailRecipientOrgMemberIds": ["u2", "u1"],
        "mailingListEmails": ["a@example.com"],
        "msTeamsEmails": ["t@example.com"],
        "filters": {"repos": {"include": ["org/*"], "exclude": []}},
    }
    data = sandbox_org.create(GUARDRAILS, attributes)
    assert data["attributes"] == attributes  # REPO stored as given, order kept


def test_thousands_of_allowed_values(sandbox_org: SandboxOrg) -> None:
    values = [f"cc-{i:05d}" for i in range(5000)]
    data = sandbox_org.policy(
        tags=[{"key": "costCentre", "valueType": "LIST", "allowedValues": values}]
    )
    assert data["attributes"]["tags"][0]["allowedValues"] == values


# PATCH


def test_patch_from_the_docs_replaces_tags_without_type(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy("p", message="keep me", tags=[{"key": "a"}, {"key": "b"}])
    new_tags = [
        {"key": "team", "mandatory": True, "valueType": "LIST", "allowedValues": ["a", "b"]}
    ]
    response = sandbox_org.request("PATCH", POLICIES, policy["id"], json=doc({"tags": new_tags}))
    assert response.status_code == 200
    attributes = response.json()["data"]["attributes"]
    assert [t["key"] for t in attributes["tags"]] == ["team"]  # replaced wholesale
    assert attributes["message"] == "keep me"  # absent attributes stay
    assert sandbox_org.request("GET", POLICIES, policy["id"]).json() == response.json()


def test_patch_replaces_filters_wholesale(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy(
        filters={"repos": {"include": ["a"]}, "projects": {"include": ["p"]}}
    )
    patch = doc({"filters": {"repos": {"exclude": ["b"]}}}, POLICIES)
    response = sandbox_org.request("PATCH", POLICIES, policy["id"], json=patch)
    assert response.json()["data"]["attributes"]["filters"] == {
        "repos": {"include": [], "exclude": ["b"]}
    }


def test_patch_null_resets_to_the_default(sandbox_org: SandboxOrg) -> None:
    guardrail = sandbox_org.guardrail(
        increaseThreshold=5, message="m", prComment=True, mailingListEmails=["a@b.c"]
    )
    patch = {
        "increaseThreshold": None,
        "message": None,
        "prComment": None,
        "mailingListEmails": None,
    }
    response = sandbox_org.request("PATCH", GUARDRAILS, guardrail["id"], json=doc(patch))
    assert response.status_code == 200
    assert response.json()["data"]["attributes"] == GUARDRAIL_DEFAULTS | {"name": "guardrail"}
    policy = sandbox_org.policy(prComment=False, filters={"repos": {"include": ["x"]}})
    reset = doc({"prComment": None, "filters": None})
    attributes = sandbox_org.request("PATCH", POLICIES, policy["id"], json=reset).json()["data"]
    assert attributes["attributes"]["prComment"] is True
    assert attributes["attributes"]["filters"] == {}


@pytest.mark.parametrize("name", ["name", "tags"])
def test_patch_cannot_null_a_required_attribute(sandbox_org: SandboxOrg, name: str) -> None:
    policy = sandbox_org.policy()
    response = sandbox_org.request("PATCH", POLICIES, policy["id"], json=doc({name: None}))
    assert response.status_code == 400
    assert errors(response) == [("400", f"/data/attributes/{name}")]


def test_patch_with_matching_id_and_type_is_fine(sandbox_org: SandboxOrg) -> None:
    guardrail = sandbox_org.guardrail()
    body = doc({"scope": "PROJECT"}, GUARDRAILS, id=guardrail["id"])
    response = sandbox_org.request("PATCH", GUARDRAILS, guardrail["id"], json=body)
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["scope"] == "PROJECT"


def test_patch_with_another_id_is_409(sandbox_org: SandboxOrg) -> None:
    guardrail = sandbox_org.guardrail()
    other = sandbox_org.guardrail("other")
    body = doc({"name": "renamed"}, id=other["id"])
    response = sandbox_org.request("PATCH", GUARDRAILS, guardrail["id"], json=body)
    assert response.status_code == 409 and errors(response) == [("409", "/data/id")]
    assert sandbox_org.request("GET", GUARDRAILS, guardrail["id"]).json()["data"] == guardrail


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_another_type_is_409(sandbox_org: SandboxOrg, method: str) -> None:
    policy = sandbox_org.policy()
    parts = (POLICIES, policy["id"]) if method == "PATCH" else (POLICIES,)
    body = doc({"name": "p", "tags": []}, GUARDRAILS)
    response = sandbox_org.request(method, *parts, json=body)
    assert response.status_code == 409 and errors(response) == [("409", "/data/type")]


def test_patch_without_attributes_changes_nothing(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy()
    response = sandbox_org.request("PATCH", POLICIES, policy["id"], json={"data": {}})
    assert response.status_code == 200 and response.json()["data"] == policy


def test_a_failed_patch_changes_nothing(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy()
    writes = sandbox_org.writes()
    body = doc({"message": "new", "blockPr": "yes"})
    assert sandbox_org.request("PATCH", POLICIES, policy["id"], json=body).status_code == 400
    assert sandbox_org.request("GET", POLICIES, policy["id"]).json()["data"] == policy
    assert sandbox_org.writes() == writes


# validation


@pytest.mark.parametrize(
    ("attributes", "pointers"),
    [
        ({"tags": []}, ["/data/attributes/name"]),
        ({"name": "p"}, ["/data/attributes/tags"]),
        ({}, ["/data/attributes/name", "/data/attributes/tags"]),
        ({"name": "", "tags": []}, ["/data/attributes/name"]),
        ({"name": "x" * 256, "tags": []}, ["/data/attributes/name"]),
        ({"name": 3, "tags": []}, ["/data/attributes/name"]),
        ({"name": None, "tags": []}, ["/data/attributes/name"]),
        ({"name": "p", "tags": {}}, ["/data/attributes/tags"]),
        ({"name": "p", "tags": ["env"]}, ["/data/attributes/tags/0"]),
        ({"name": "p", "tags": [{"mandatory": True}]}, ["/data/attributes/tags/0/key"]),
        ({"name": "p", "tags": [{"key": ""}]}, ["/data/attributes/tags/0/key"]),
        (
            {"name": "p", "tags": [{"key": "a", "valueType": "ENUM"}]},
            ["/data/attributes/tags/0/valueType"],
        ),
        (
            {"name": "p", "tags": [{"key": "a", "valueType": "LIST"}]},
            ["/data/attributes/tags/0/allowedValues"],
        ),
        (
            {"name": "p", "tags": [{"key": "a", "valueType": "LIST", "allowedValues": []}]},
            ["/data/attributes/tags/0/allowedValues"],
        ),
        (
            {"name": "p", "tags": [{"key": "a", "valueType": "LIST", "allowedValues": [1]}]},
            ["/data/attributes/tags/0/allowedValues/0"],
        ),
        (
            {"name": "p", "tags": [{"key": "a", "valueType": "REGEX"}]},
            ["/data/attributes/tags/0/allowedRegex"],
        ),
        ({"name": "p", "tags": [{"key": "a"}, {"key": "a"}]}, ["/data/attributes/tags/1/key"]),
        (
            {"name": "p", "tags": [{"key": "a", "mandatory": "yes"}]},
            ["/data/attributes/tags/0/mandatory"],
        ),
        ({"name": "p", "tags": [], "prComment": 1}, ["/data/attributes/prComment"]),
        ({"name": "p", "tags": [], "filters": []}, ["/data/attributes/filters"]),
        (
            {"name": "p", "tags": [], "filters": {"repos": ["a"]}},
            ["/data/attributes/filters/repos"],
        ),
        (
            {"name": "p", "tags": [], "filters": {"repos": {"include": "a"}}},
            ["/data/attributes/filters/repos/include"],
        ),
        ({"name": "p", "tags": [], "owner": "me"}, ["/data/attributes/owner"]),
    ],
)
def test_policy_validation(
    sandbox_org: SandboxOrg, attributes: dict[str, Any], pointers: list[str]
) -> None:
    response = sandbox_org.request("POST", POLICIES, json=doc(attributes, POLICIES))
    assert response.status_code == 400, response.text
    assert errors(response) == [("400", p) for p in pointers]
    assert all(e["title"] == "Bad Request" and e["detail"] for e in response.json()["errors"])
    assert sandbox_org.request("GET", POLICIES).json()["data"] == []
    assert sandbox_org.writes() == 0


@pytest.mark.parametrize(
    ("attributes", "pointers"),
    [
        ({"scope": "PROJECT"}, ["/data/attributes/name"]),
        ({"name": "g"}, ["/data/attributes/scope"]),
        ({"name": "g", "scope": "ORG"}, ["/data/attributes/scope"]),
        ({"name": "g", "scope": "pull_request"}, ["/data/attributes/scope"]),
        (
            {"name": "g", "scope": "PROJECT", "increaseThreshold": -1},
            ["/data/attributes/increaseThreshold"],
        ),
        (
            {"name": "g", "scope": "PROJECT", "increasePercentThreshold": "5"},
            ["/data/attributes/increasePercentThreshold"],
        ),
        (
            {"name": "g", "scope": "PROJECT", "totalThreshold": True},
            ["/data/attributes/totalThreshold"],
        ),
        (
            {"name": "g", "scope": "PROJECT", "webhookUrl": None, "blockPr": "no"},
            ["/data/attributes/blockPr"],
        ),
        ({"name": "g", "scope": "PROJECT", "webhookUrl": "slack"}, ["/data/attributes/webhookUrl"]),
        (
            {"name": "g", "scope": "PROJECT", "mailingListEmails": "a@b.c"},
            ["/data/attributes/mailingListEmails"],
        ),
        (
            {"name": "g", "scope": "PROJECT", "msTeamsEmails": [None]},
            ["/data/attributes/msTeamsEmails/0"],
        ),
        ({"name": "g", "scope": "PROJECT", "tags": []}, ["/data/attributes/tags"]),
    ],
)
def test_guardrail_validation(
    sandbox_org: SandboxOrg, attributes: dict[str, Any], pointers: list[str]
) -> None:
    response = sandbox_org.request("POST", GUARDRAILS, json=doc(attributes, GUARDRAILS))
    assert response.status_code == 400, response.text
    assert errors(response) == [("400", p) for p in pointers]


def test_create_without_type_is_accepted(sandbox_org: SandboxOrg) -> None:
    response = sandbox_org.request("POST", GUARDRAILS, json=doc({"name": "g", "scope": "PROJECT"}))
    assert response.status_code == 201


def test_create_with_an_id_is_400(sandbox_org: SandboxOrg) -> None:
    body = doc(
        {"name": "g", "scope": "PROJECT"}, GUARDRAILS, id="5a0e8d7c-1111-4222-8333-944445555666"
    )
    response = sandbox_org.request("POST", GUARDRAILS, json=body)
    assert response.status_code == 400 and errors(response) == [("400", "/data/id")]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (b"{", ""),
        (b"[]", ""),
        (b'"data"', ""),
        (b"\xff\xfe", ""),
        (b"{}", "/data"),
        (b'{"data": []}', "/data"),
        (b'{"data": null}', "/data"),
        (b'{"data": {"attributes": {}}, "included": []}', "/included"),
        (b'{"data": {"attributes": {}, "relationships": {}}}', "/data/relationships"),
        (b'{"data": {"attributes": []}}', "/data/attributes"),
        (b'{"data": {"attributes": {"name": "a", "name": "b"}}}', ""),
        (b'{"data": {"attributes": {"increaseThreshold": NaN}}}', ""),
        (
            b'{"data": {"attributes": {"increaseThreshold": 1e999}}}',
            "/data/attributes/increaseThreshold",
        ),
    ],
)
def test_malformed_documents_are_400(sandbox_org: SandboxOrg, body: bytes, pointer: str) -> None:
    response = sandbox_org.request(
        "POST", GUARDRAILS, data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert errors(response)[0] == ("400", pointer)


def test_nesting_and_string_length_are_capped(sandbox_org: SandboxOrg) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"a": deep}
    body = doc({"name": "p", "tags": [], "filters": {"labels": deep}})
    response = sandbox_org.request("POST", POLICIES, json=body)
    assert response.status_code == 400 and "nested" in response.json()["errors"][0]["detail"]
    very_deep = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = sandbox_org.request(
        "POST", POLICIES, data=very_deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    long_message = doc({"name": "p", "tags": [], "message": "m" * 10_001})
    response = sandbox_org.request("POST", POLICIES, json=long_message)
    assert errors(response) == [("400", "/data/attributes/message")]
    assert sandbox_org.writes() == 0


def test_unicode_round_trips(sandbox_org: SandboxOrg) -> None:
    data = sandbox_org.policy("Политика ✓", message='名前 \u2028 "quoted" \\ slash')
    again = sandbox_org.request("GET", POLICIES, data["id"]).json()["data"]
    assert again["attributes"]["name"] == "Политика ✓"
    assert again["attributes"]["message"] == '名前 \u2028 "quoted" \\ slash'


def test_write_counter_counts_successful_writes(sandbox_org: SandboxOrg) -> None:
    assert sandbox_org.writes() == 0
    policy = sandbox_org.policy()
    sandbox_org.request("PATCH", POLICIES, policy["id"], json=doc({"message": "x"}))
    sandbox_org.request("GET", POLICIES)
    sandbox_org.request("DELETE", POLICIES, policy["id"])
    sandbox_org.request("DELETE", POLICIES, policy["id"])  # 404: not a write
    assert sandbox_org.writes() == 3


def test_health_needs_no_token(sandbox_org: SandboxOrg, http: requests.Session) -> None:
    response = http.get(f"{sandbox_org.url}/_sandbox/health", timeout=5)
    assert response.json() == {"status": "ok"}
