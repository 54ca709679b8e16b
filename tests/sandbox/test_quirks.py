"""Quirks: each one on its own, for one org, and off again afterwards."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.faults import QUIRKS

if TYPE_CHECKING:
    from tests.helpers.sandbox import SandboxOrg

POLICIES = "tagging-policies"
GUARDRAILS = "guardrails"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def post(org: SandboxOrg, kind: str, attributes: dict[str, Any]) -> Any:
    return org.request("POST", kind, json={"data": {"type": kind, "attributes": attributes}})


def test_every_quirk_is_tested_here() -> None:
    names = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert set(QUIRKS) <= names


def test_create_200(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_quirks("create_200")
    response = post(sandbox_org, GUARDRAILS, {"name": "g", "scope": "PROJECT"})
    assert response.status_code == 200
    assert response.json()["data"]["attributes"]["name"] == "g"
    sandbox_org.reset()
    assert post(sandbox_org, GUARDRAILS, {"name": "g", "scope": "PROJECT"}).status_code == 201


def test_other_type(sandbox_org: SandboxOrg) -> None:
    policy = sandbox_org.policy()
    guardrail = sandbox_org.guardrail()
    sandbox_org.set_quirks("other_type")
    assert (
        sandbox_org.request("GET", POLICIES, policy["id"]).json()["data"]["type"]
        == "tagging_policy"
    )
    assert sandbox_org.request("GET", GUARDRAILS).json()["data"][0]["type"] == "guardrail"
    assert (
        post(sandbox_org, GUARDRAILS, {"name": "g", "scope": "PROJECT"}).json()["data"]["type"]
        == "guardrail"
    )
    patched = sandbox_org.request(
        "PATCH", GUARDRAILS, guardrail["id"], json={"data": {"attributes": {}}}
    )
    assert patched.json()["data"]["type"] == "guardrail"
    # requests still use the documented type
    wrong = sandbox_org.request(
        "PATCH", GUARDRAILS, guardrail["id"], json={"data": {"type": "guardrail"}}
    )
    assert wrong.status_code == 409


def test_missing_attribute(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_quirks("missing_attribute")
    created = post(sandbox_org, POLICIES, {"name": "p", "message": "m", "tags": []}).json()["data"]
    assert "message" not in created["attributes"] and created["attributes"]["name"] == "p"
    listed = sandbox_org.request("GET", POLICIES).json()["data"]
    assert "message" not in listed[0]["attributes"]
    sandbox_org.reset()
    assert (
        sandbox_org.request("GET", POLICIES, created["id"]).json()["data"]["attributes"]["message"]
        == "m"
    )


def test_server_fields(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_quirks("server_fields")
    created = post(sandbox_org, GUARDRAILS, {"name": "g", "scope": "PROJECT"}).json()["data"][
        "attributes"
    ]
    assert ISO.fullmatch(created["createdAt"]) and created["createdAt"] == created["updatedAt"]
    assert created["createdBy"]
    guardrail_id = sandbox_org.request("GET", GUARDRAILS).json()["data"][0]["id"]
    time.sleep(0.01)
    patch = {"data": {"attributes": {"message": "m"}}}
    patched = sandbox_org.request("PATCH", GUARDRAILS, guardrail_id, json=patch).json()["data"][
        "attributes"
    ]
    assert (
        patched["createdAt"] == created["createdAt"] and patched["updatedAt"] > created["updatedAt"]
    )
    # sending them back is refused like any unknown attribute
    echo = {"data": {"attributes": {"createdAt": patched["createdAt"]}}}
    assert sandbox_org.request("PATCH", GUARDRAILS, guardrail_id, json=echo).status_code == 400


def test_error_object(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_quirks("error_object")
    response = sandbox_org.request("GET", POLICIES, "nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": "no tagging-policies object with id 'nope'",
        "error_code": "not_found",
    }
    response = post(sandbox_org, POLICIES, {"tags": [], "prComment": 1})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "invalid_request"
    assert body["error"] == (
        "/data/attributes/prComment: must be true or false; /data/attributes/name: name is required"
    )
    sandbox_org.set_quirks("error_object")
    sandbox_org.set_faults("script=429")
    response = sandbox_org.request("GET", POLICIES)
    assert (
        response.json()["error_code"] == "rate_limited" and response.headers["Retry-After"] == "1"
    )


def test_error_text(sandbox_org: SandboxOrg) -> None:
    sandbox_org.set_quirks("error_text")
    response = sandbox_org.request("DELETE", GUARDRAILS, "nope")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Not Found: no guardrails object with id 'nope'\n"
    response = sandbox_org.request(
        "POST", POLICIES, data=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.text.startswith("Bad Request: malformed JSON")
    response = post(sandbox_org, GUARDRAILS, {"name": "g"})
    assert response.text == "Bad Request: /data/attributes/scope: scope is required\n"


def test_reorder(sandbox_org: SandboxOrg) -> None:
    tags = [
        {"key": "a", "valueType": "LIST", "allowedValues": ["1", "2", "3"]},
        {"key": "b"},
    ]
    filters = {
        "repos": {"include": ["x", "y"], "exclude": ["p", "q"]},
        "labels": ["keep", "as", "is"],
    }
    policy = sandbox_org.policy("first", tags=tags, filters=filters)
    sandbox_org.policy("second")
    emails = ["1@x", "2@x"]
    guardrail = sandbox_org.guardrail(
        mailingListEmails=emails, filters={"projects": {"include": ["m", "n"]}}
    )
    sandbox_org.set_quirks("reorder")
    listed = sandbox_org.request("GET", POLICIES).json()["data"]
    assert [p["attributes"]["name"] for p in listed] == ["second", "first"]
    attributes = listed[1]["attributes"]
    assert [t["key"] for t in attributes["tags"]] == ["b", "a"]
    assert attributes["tags"][1]["allowedValues"] == ["3", "2", "1"]
    assert attributes["filters"]["repos"] == {"include": ["y", "x"], "exclude": ["q", "p"]}
    assert attributes["filters"]["labels"] == ["keep", "as", "is"]  # unknown keys are left alone
    g = sandbox_org.request("GET", GUARDRAILS, guardrail["id"]).json()["data"]["attributes"]
    assert g["mailingListEmails"] == ["2@x", "1@x"]
    assert g["filters"]["projects"]["include"] == ["n", "m"]
    sandbox_org.reset()  # the stored order never changed
    assert sandbox_org.request("GET", POLICIES, policy["id"]).json()["data"] == policy


def test_paginate(sandbox_org: SandboxOrg) -> None:
    names = [f"p{i}" for i in range(5)]
    for name in names:
        sandbox_org.policy(name)
    sandbox_org.set_quirks("paginate")
    seen: list[str] = []
    url: str | None = sandbox_org.path(POLICIES)
    pages = 0
    while url:
        body = sandbox_org.session.get(url, timeout=5).json()
        assert len(body["data"]) <= 2
        seen += [p["attributes"]["name"] for p in body["data"]]
        url = body["links"]["next"]
        pages += 1
    assert seen == names and pages == 3
    assert sandbox_org.request("GET", POLICIES, params={"page[number]": "9"}).json() == {
        "data": [],
        "links": {"next": None},
    }
    assert sandbox_org.request("GET", POLICIES, params={"page[number]": "0"}).status_code == 400
    assert sandbox_org.request("GET", GUARDRAILS).json() == {"data": [], "links": {"next": None}}
    sandbox_org.reset()
    assert "links" not in sandbox_org.request("GET", POLICIES).json()


def test_quirks_combine(sandbox_org: SandboxOrg) -> None:
    sandbox_org.policy("a")
    sandbox_org.policy("b")
    sandbox_org.policy("c")
    sandbox_org.set_quirks("paginate", "reorder", "other_type", "missing_attribute")
    body = sandbox_org.request("GET", POLICIES).json()
    assert [p["attributes"]["name"] for p in body["data"]] == ["c", "b"]
    assert (
        body["data"][0]["type"] == "tagging_policy"
        and "message" not in body["data"][0]["attributes"]
    )
    assert body["links"]["next"]
