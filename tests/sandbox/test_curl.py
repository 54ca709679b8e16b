"""The curl examples of the Infracost docs, run through real curl, byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.helpers.sandbox import SandboxOrg

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"

# Exactly as in docs/sandbox.md ("Try it locally").
PATCH_TAGS = (
    """curl -X PATCH -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" """
    """-d '{"data":{"attributes":{"tags":[{"key":"team","mandatory":true,"valueType":"LIST","""
    """"allowedValues":["a","b"]}]}}}' $URL/v1/orgs/$ORG/tagging-policies/$ID"""
)
POST_GUARDRAIL = (
    """curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" """
    """-d '{"data":{"type":"guardrails","attributes":{"name":"Large cost increase","""
    """"scope":"PULL_REQUEST","increaseThreshold":100,"""
    """"message":"This pull request adds more than 100 a month","prComment":true,"""
    """"blockPr":false}}}' $URL/v1/orgs/$ORG/guardrails"""
)
UPLOAD_CSV = (
    """curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: text/csv" """
    """--data-binary @custom_properties.csv $URL/v1/orgs/$ORG/custom-properties"""
)
CSV = b'repo,team,costCentre\r\nacme/api,payments,CC-100\r\nacme/web,"growth, web",CC-200\r\n'


def curl(command: str, org: SandboxOrg, cwd: Path, object_id: str = "") -> tuple[int, str]:
    """Run ``command`` with sh; a private .curlrc adds the status and keeps curl off proxies."""
    (cwd / ".curlrc").write_text(
        'silent\nshow-error\nnoproxy = "*"\nwrite-out = "\\n%{http_code}"\n'
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "CURL_HOME": str(cwd),
        "TOKEN": org.token,
        "URL": org.url,
        "ORG": org.org,
        "ID": object_id,
    }
    result = subprocess.run(
        ["sh", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


@needs_curl
def test_patch_of_tags_without_type(sandbox_org: SandboxOrg, tmp_path: Path) -> None:
    policy = sandbox_org.policy("p", message="stays", tags=[{"key": "env"}])
    status, body = curl(PATCH_TAGS, sandbox_org, tmp_path, policy["id"])
    assert status == 200
    attributes = json.loads(body)["data"]["attributes"]
    assert attributes["tags"] == [
        {
            "key": "team",
            "mandatory": True,
            "valueType": "LIST",
            "allowedValues": ["a", "b"],
            "allowedRegex": "",
            "message": "",
        }
    ]
    assert attributes["message"] == "stays"


@needs_curl
def test_post_of_a_guardrail(sandbox_org: SandboxOrg, tmp_path: Path) -> None:
    status, body = curl(POST_GUARDRAIL, sandbox_org, tmp_path)
    assert status == 201
    data = json.loads(body)["data"]
    assert data["type"] == "guardrails"
    assert data["attributes"]["increaseThreshold"] == 100
    assert data["attributes"]["scope"] == "PULL_REQUEST"
    assert sandbox_org.request("GET", "guardrails").json()["data"] == [data]


@needs_curl
def test_csv_upload_with_data_binary(sandbox_org: SandboxOrg, tmp_path: Path) -> None:
    (tmp_path / "custom_properties.csv").write_bytes(CSV)
    status, body = curl(UPLOAD_CSV, sandbox_org, tmp_path)
    assert (status, body) == (204, "")
    assert sandbox_org.custom_properties() == (
        ["repo", "team", "costCentre"],
        [["acme/api", "payments", "CC-100"], ["acme/web", "growth, web", "CC-200"]],
    )


@needs_curl
def test_csv_upload_with_plain_d_loses_the_newlines(
    sandbox_org: SandboxOrg, tmp_path: Path
) -> None:
    """Why the docs insist on --data-binary: -d @file strips the line breaks."""
    (tmp_path / "custom_properties.csv").write_bytes(CSV)
    status, body = curl(UPLOAD_CSV.replace("--data-binary", "-d"), sandbox_org, tmp_path)
    assert status == 400 and "no data row" in body
    assert sandbox_org.writes() == 0


@pytest.mark.parametrize("command", [PATCH_TAGS, POST_GUARDRAIL, UPLOAD_CSV])
def test_the_documented_examples_are_the_tested_ones(command: str) -> None:
    assert f"$ {command}\n" in DOC.read_text()
