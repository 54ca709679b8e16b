"""Content types, the body size limit, and the custom-properties CSV upload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.helpers.sandbox import MakeSandbox, SandboxOrg

POLICIES = "tagging-policies"
PROPERTIES = "custom-properties"
POLICY = json.dumps({"data": {"attributes": {"name": "p", "tags": []}}}).encode()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
        "application/vnd.api+json; charset=UTF-8",
    ],
)
def test_json_media_types_are_accepted(sandbox_org: SandboxOrg, content_type: str) -> None:
    response = sandbox_org.request(
        "POST", POLICIES, data=POLICY, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201
    policy_id = response.json()["data"]["id"]
    patch = b'{"data": {"attributes": {"message": "m"}}}'
    response = sandbox_org.request(
        "PATCH", POLICIES, policy_id, data=patch, headers={"Content-Type": content_type}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "text/csv", "application/x-www-form-urlencoded", "application/jsonx"],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_other_media_types_are_415(
    sandbox_org: SandboxOrg, content_type: str | None, method: str
) -> None:
    policy = sandbox_org.policy()
    parts = (POLICIES,) if method == "POST" else (POLICIES, policy["id"])
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = sandbox_org.request(method, *parts, data=POLICY, headers=headers)
    assert response.status_code == 415
    assert response.json()["errors"][0]["status"] == "415"
    assert sandbox_org.writes() == 1


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None, "text/csvx"])
def test_csv_upload_needs_text_csv(sandbox_org: SandboxOrg, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = sandbox_org.request("POST", PROPERTIES, data=b"repo,team\na,b\n", headers=headers)
    assert response.status_code == 415
    assert sandbox_org.writes() == 0


def upload(org: SandboxOrg, body: bytes, content_type: str = "text/csv") -> Any:
    return org.request("POST", PROPERTIES, data=body, headers={"Content-Type": content_type})


def test_csv_upload_is_204_and_replaces_the_table(sandbox_org: SandboxOrg) -> None:
    first = b"repo,team,costCentre\r\nacme/api,payments,CC-1\r\nacme/web,growth,CC-2\r\n"
    response = upload(sandbox_org, first)
    assert response.status_code == 204 and response.content == b""
    assert sandbox_org.custom_properties() == (
        ["repo", "team", "costCentre"],
        [["acme/api", "payments", "CC-1"], ["acme/web", "growth", "CC-2"]],
    )
    assert (
        upload(
            sandbox_org, b"repo,division\nacme/cli,tools\n", "text/csv; charset=utf-8"
        ).status_code
        == 204
    )
    assert sandbox_org.custom_properties() == (["repo", "division"], [["acme/cli", "tools"]])
    assert sandbox_org.writes() == 2


def test_csv_is_rfc_4180(sandbox_org: SandboxOrg) -> None:
    body = (
        '\ufeffrepo,"team, name",notes\r\n'
        'acme/api,"Payments, EU","line one\r\nline two"\r\n'
        "\r\n"
        'acme/web,"say ""hi""",\r\n'
        "acme/ü,ünïcode,\n"
    ).encode()
    assert upload(sandbox_org, body).status_code == 204
    assert sandbox_org.custom_properties() == (
        ["repo", "team, name", "notes"],
        [
            ["acme/api", "Payments, EU", "line one\r\nline two"],
            ["acme/web", 'say "hi"', ""],
            ["acme/ü", "ünïcode", ""],
        ],
    )


def test_csv_without_trailing_newline(sandbox_org: SandboxOrg) -> None:
    assert upload(sandbox_org, b"repo,team\nacme/api,payments").status_code == 204
    assert sandbox_org.custom_properties() == (["repo", "team"], [["acme/api", "payments"]])


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "empty"),
        (b"\n\r\n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"repo,team\n", "no data row"),
        (b"repo,team\r\n\r\n", "no data row"),
        (b"repo,team\na,b\nc\n", "line 3: 1 fields, the header has 2"),
        (b"repo,team\na,b,c\n", "line 2: 3 fields"),
        (b"repo,,team\na,b,c\n", "column 2 has no name"),
        (b"repo,repo\na,b\n", "appears more than once"),
        (b'repo,team\na,"unclosed\n', "line"),
        (b'repo,team\na,"b"c\n', "line 2"),
        (b"repo,team\na,\xff\n", "not UTF-8"),
        (b"repo,team\na,b\x00c\n", "line 2"),
    ],
)
def test_bad_csv_is_400_and_changes_nothing(
    sandbox_org: SandboxOrg, body: bytes, detail: str
) -> None:
    assert upload(sandbox_org, b"repo,team\nkeep,me\n").status_code == 204
    response = upload(sandbox_org, body)
    assert response.status_code == 400, response.text
    assert detail in response.json()["errors"][0]["detail"]
    assert sandbox_org.custom_properties() == (["repo", "team"], [["keep", "me"]])  # all or nothing
    assert sandbox_org.writes() == 1


def test_many_csv_problems_are_reported_together(sandbox_org: SandboxOrg) -> None:
    body = b"repo,team\n" + b"only-one-field\n" * 50
    response = upload(sandbox_org, body)
    assert response.status_code == 400 and len(response.json()["errors"]) == 20


def test_a_large_csv_is_one_transaction(sandbox_org: SandboxOrg) -> None:
    rows = "".join(f"acme/repo-{i},team-{i % 7}\n" for i in range(20_000))
    assert upload(sandbox_org, f"repo,team\n{rows}".encode()).status_code == 204
    columns, stored = sandbox_org.custom_properties()
    assert (
        columns == ["repo", "team"]
        and len(stored) == 20_000
        and stored[-1] == ["acme/repo-19999", "team-0"]
    )
    assert sandbox_org.writes() == 1


# the body size limit


@pytest.fixture
def small(make_sandbox: MakeSandbox) -> SandboxOrg:
    return make_sandbox(max_body_bytes=1024).new_org()


def padded(size: int) -> bytes:
    """A valid policy document of exactly ``size`` bytes."""
    body = POLICY[:-1]
    return body + b" " * (size - len(body) - 1) + b"}"


def test_a_body_at_the_limit_is_accepted(small: SandboxOrg) -> None:
    response = small.request(
        "POST", POLICIES, data=padded(1024), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("part", "content_type"), [(POLICIES, "application/json"), (PROPERTIES, "text/csv")]
)
def test_a_body_over_the_limit_is_413_json(small: SandboxOrg, part: str, content_type: str) -> None:
    response = small.request(
        "POST", part, data=padded(1025), headers={"Content-Type": content_type}
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["status"] == "413" and "1024 bytes" in error["detail"]
    assert small.writes() == 0


def test_a_chunked_body_over_the_limit_is_413(small: SandboxOrg) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 100

    response = small.request(
        "POST", POLICIES, data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["status"] == "413"


def test_a_much_larger_body_still_gets_a_413(small: SandboxOrg) -> None:
    response = small.request(
        "POST", PROPERTIES, data=b"a,b\n" + b"x,y\n" * 500_000, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 413
