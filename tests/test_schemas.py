"""The compiled validator (draft-07) and jsonschema (2020-12) agree on every input we have."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.documents import Ambiguous, LoadError, load_documents
from reconciler.kinds import CONFIG_SCHEMA, OBJECT_KINDS, TABLE
from reconciler.schemas import is_valid, load_schema, validator

ROOT = Path(__file__).resolve().parent.parent
WRONG: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    float("nan"),
    "",
    "x",
    [],
    ["x"],
    [1],
    {},
    {"x": 1},
    Ambiguous("yes", True, "yes"),
]


def _documents() -> Iterator[tuple[str, Any]]:
    for path in sorted([*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("tests/cases/**/*.yaml")]):
        try:
            docs = load_documents(path)
        except LoadError:
            continue
        for doc in docs:
            data = doc.data
            if path.name == "reconciler.yaml" and isinstance(data, dict):
                yield CONFIG_SCHEMA, data
            elif isinstance(data, dict) and data.get("kind") in OBJECT_KINDS:
                yield OBJECT_KINDS[data["kind"]].schema, data
            elif isinstance(data, dict) and data.get("kind") == TABLE.name:
                yield TABLE.schema, data


def _mutations(data: Any) -> Iterator[Any]:
    """Every node of the document replaced, in turn, by each wrong value."""
    yield data
    if isinstance(data, dict):
        for key in list(data):
            for child in _mutations(data[key]):
                yield {**data, key: child}
            yield {k: v for k, v in data.items() if k != key}
        yield {**data, "unknownField": 1}
    elif isinstance(data, list):
        for i, item in enumerate(data[:3]):
            for child in _mutations(item):
                yield [*data[:i], child, *data[i + 1 :]]
    for wrong in WRONG:
        yield copy.deepcopy(wrong)


def test_both_validators_agree() -> None:
    checked = 0
    for schema, data in _documents():
        for variant in _mutations(data):
            fast = is_valid(schema, variant)
            slow = not any(True for _ in validator(schema).iter_errors(variant))
            assert fast == slow, (schema, variant)
            checked += 1
    assert checked > 5_000


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(value: bool) -> None:
    doc = {"kind": "Guardrail", "name": "G", "scope": "PROJECT", "totalThreshold": value}
    assert not is_valid(OBJECT_KINDS["Guardrail"].schema, doc)


def test_the_config_schema_file_lists_the_kinds_prune_accepts() -> None:
    """Editors read the file; reconciler derives it from the registry: the two agree."""
    from reconciler.config import config_schema, prune_enum
    from reconciler.kinds import prunable

    assert prune_enum(load_schema(CONFIG_SCHEMA)) == prunable()
    assert config_schema() == CONFIG_SCHEMA
