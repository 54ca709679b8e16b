"""The YAML loader: positions, duplicate keys, 1.1/1.2 ambiguity, and the caps."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.documents import (
    DEFAULT_LIMITS,
    Ambiguous,
    Document,
    Limits,
    LoadError,
    iter_documents,
    load_documents,
    resolve_plain,
)

F = Path("f.yaml")


def docs(text: str, limits: Limits = DEFAULT_LIMITS) -> list[Document]:
    return list(iter_documents(text, F, limits))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("APP-00042", "APP-00042"),
        ("true", True),
        ("false", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("100", 100),
        ("100.5", 100.5),
        ("0x1F", 31),
        ("-3", -3),
        ("acme/infra-*", "acme/infra-*"),
        (".inf", float("inf")),
    ],
)
def test_plain_scalars_that_both_versions_agree_on(text: str, value: object) -> None:
    assert resolve_plain(text) == value
    assert type(resolve_plain(text)) is type(value)


@pytest.mark.parametrize(
    ("text", "as11", "as12"),
    [
        ("yes", True, "yes"),
        ("no", False, "no"),
        ("on", True, "on"),
        ("Off", False, "Off"),
        ("y", True, "y"),
        ("010", 8, 10),
        ("00123", 83, 123),
        ("1e3", "1e3", 1000.0),
        ("1_000", 1000, "1_000"),
        ("0b101", 5, "0b101"),
        ("12:30", 750, "12:30"),
        ("0o17", "0o17", 15),
    ],
)
def test_plain_scalars_read_differently_are_ambiguous(
    text: str, as11: object, as12: object
) -> None:
    value = resolve_plain(text)
    assert isinstance(value, Ambiguous)
    assert value.as11 == as11
    assert value.as12 == as12


def test_dates_are_ambiguous() -> None:
    assert isinstance(resolve_plain("2024-01-01"), Ambiguous)
    assert isinstance(resolve_plain("2024-01-01 10:00:00"), Ambiguous)


def test_quoted_and_tagged_scalars_are_strings() -> None:
    (doc,) = docs("a: 'yes'\nb: \"010\"\nc: !!str 1e3\nd: |\n  on\n")
    assert doc.data == {"a": "yes", "b": "010", "c": "1e3", "d": "on\n"}


def test_keys_keep_their_text() -> None:
    (doc,) = docs("on: 1\nyes: 2\n010: 3\n")
    assert doc.data == {"on": 1, "yes": 2, "010": 3}


def test_positions_of_every_node() -> None:
    (doc,) = docs("kind: X\ntags:\n  - key: env\n    allowedValues: [a, b,\n      c]\n")
    assert doc.locate(("kind",)) == (1, 7)
    assert doc.locate(("tags", 0, "key")) == (3, 10)
    assert doc.locate(("tags", 0, "allowedValues", 2)) == (5, 7)
    assert doc.locate(("tags", 0, "allowedValues"), key=True) == (4, 5)
    # a missing step points at the deepest existing node
    assert doc.locate(("tags", 0, "missing")) == (3, 5)
    assert doc.locate(("tags", 7)) == (3, 3)


def test_duplicate_keys_are_recorded_with_both_lines() -> None:
    (doc,) = docs("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert doc.data == {"a": 1, "b": {"c": 1}}
    assert sorted(doc.duplicate_keys) == [((), "a", (5, 1), 1), (("b",), "c", (4, 3), 3)]


def test_several_documents_and_empty_ones() -> None:
    result = docs("---\na: 1\n---\n---\nb: 2\n")
    assert [d.data for d in result] == [{"a": 1}, None, {"b": 2}]
    assert [d.index for d in result] == [0, 1, 2]


def test_aliases_are_copies_not_shared_objects() -> None:
    (doc,) = docs("a: &x {k: [1]}\nb: *x\n")
    assert doc.data["a"] == doc.data["b"]
    assert doc.data["a"] is not doc.data["b"]


def test_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(LoadError, match="aliases expand to more than"):
        docs("\n".join(lines))


@pytest.mark.parametrize("text", ["a: " + "[" * 100_000 + "]" * 100_000, "a:\n" + "- " * 500 + "x"])
def test_deep_nesting_is_refused_without_crashing(text: str) -> None:
    with pytest.raises(LoadError, match="nesting"):
        docs(text)


def test_nesting_within_the_limit_loads() -> None:
    (doc,) = docs("a: " + "[" * 20 + "]" * 20, Limits(max_depth=32))
    assert doc.data["a"] is not None


def test_non_utf8_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(LoadError) as info:
        load_documents(path)
    assert (info.value.line, info.value.column) == (2, 7)
    assert "not valid UTF-8" in info.value.message


def test_utf16_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes("a: 1\n".encode("utf-16"))
    with pytest.raises(LoadError, match="UTF-16"):
        load_documents(path)


def test_bom_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_documents(path)[0].data == {"a": 1}


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a: " + "x" * 2000)
    with pytest.raises(LoadError, match="larger than"):
        load_documents(path, Limits(max_file_bytes=1024))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("? [a]\n: 1\n", "mapping keys must be strings"),
        ("a: !Ref x\n", "not supported"),
        ("a: *nope\n", "nope"),
        ("a: 'open\n", "YAML syntax error"),
        ("a: !!int abc\n", "not a valid"),
    ],
)
def test_unusable_yaml_is_one_located_error(text: str, message: str) -> None:
    with pytest.raises(LoadError, match=message) as info:
        docs(text)
    assert info.value.line >= 1
