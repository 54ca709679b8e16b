"""The docs and the schemas say what the code does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests import docgen

ROOT = docgen.ROOT
# Optional properties that have no default, and why.
NO_DEFAULT = {
    "id": "a pin is absent unless written",
    "allowedValuesFrom": "the alternative to allowedValues",
    "column": "only for CSV files",
    "org": "there is no default org",
    "scope": "required unless absent",
    "tags": "required unless absent",
    "fromEnv": "required inside its object",
    "default": "the fallback of fromEnv is optional",
    "user": "ServiceNow credentials: user and password, or token",
    "password": "ServiceNow credentials: user and password, or token",
    "token": "ServiceNow credentials: user and password, or token",
    "minFamily": "computed from the size of the list",
}


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:sh|bash)\n(.*?)\n```", readme, re.DOTALL)
    test_command = next(c for c in commands[:2] if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_format_reference_matches_the_schemas() -> None:
    text = (ROOT / "docs" / "format.md").read_text()
    assert docgen.generated(text) == docgen.format_reference(), "run python tests/docgen.py"


def test_cli_reference_matches_help() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    assert docgen.generated(text) == docgen.cli_reference(), "run python tests/docgen.py"


def _objects(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(schema, dict):
        if "properties" in schema:
            found.append((path, schema))
        for key, value in schema.items():
            if key in ("if", "then", "else"):
                continue  # conditions, not object definitions
            found.extend(_objects(value, f"{path}/{key}"))
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found.extend(_objects(value, f"{path}/{i}"))
    return found


@pytest.mark.parametrize("file", sorted(p.name for p in (ROOT / "schemas").glob("*.json")))
def test_schemas_are_complete_reference_docs(file: str) -> None:
    schema = json.loads((ROOT / "schemas" / file).read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["description"]
    for path, obj in _objects(schema):
        assert obj.get("additionalProperties") is False or isinstance(
            obj.get("additionalProperties"), dict
        ), path
        required = set(obj.get("required", []))
        for name, prop in obj["properties"].items():
            assert prop.get("description"), f"{path}/{name} has no description"
            if name not in required and name not in NO_DEFAULT:
                assert "default" in prop, f"{path}/{name} is optional without a default"


def test_every_example_names_its_schema() -> None:
    for path in (ROOT / "examples").rglob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert target.is_file(), path


def test_the_docs_cite_only_files_the_repository_has() -> None:
    """A page named in a link or alone in backticks (`format.md`) is a file of this repository,
    beside the page, at the root or in docs/ (the project's notes outside it are not)."""
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text()
        cited = re.findall(r"\]\(([^)#\s]+\.md)", text) + re.findall(r"`([\w./-]+\.md)`", text)
        for name in cited:
            places = (page.parent / name, ROOT / name, ROOT / "docs" / name)
            assert any(p.is_file() for p in places), f"{page.name} cites {name}"
