"""The compiled validators cached on disk: used when they are ours, ignored when not."""

from __future__ import annotations

import os
from pathlib import Path
from types import CodeType

import pytest

from reconciler import validator_cache

SCHEMA = {"type": "object", "required": ["name"]}


def compiled() -> CodeType:
    return compile("def validate(data):\n    return data\n", "<test>", "exec")


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(validator_cache.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path / "cache" / "reconciler"


def test_a_stored_validator_is_loaded_again(cache_home: Path) -> None:
    assert validator_cache.load(SCHEMA, "1.0") is None
    code = compiled()
    validator_cache.store(SCHEMA, "1.0", code)
    assert validator_cache.load(SCHEMA, "1.0") == code
    assert oct(cache_home.stat().st_mode & 0o777) == "0o700"
    # another schema or another fastjsonschema version is another file
    assert validator_cache.load({**SCHEMA, "required": []}, "1.0") is None
    assert validator_cache.load(SCHEMA, "1.1") is None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_file_others_may_write_is_never_run(cache_home: Path) -> None:
    validator_cache.store(SCHEMA, "1.0", compiled())
    (path,) = cache_home.iterdir()
    path.chmod(0o666)
    assert validator_cache.load(SCHEMA, "1.0") is None
    path.chmod(0o600)
    cache_home.chmod(0o777)
    assert validator_cache.load(SCHEMA, "1.0") is None


def test_a_damaged_file_is_compiled_again(cache_home: Path) -> None:
    validator_cache.store(SCHEMA, "1.0", compiled())
    (path,) = cache_home.iterdir()
    path.write_bytes(path.read_bytes()[:10])
    assert validator_cache.load(SCHEMA, "1.0") is None
    path.write_bytes(b"")
    assert validator_cache.load(SCHEMA, "1.0") is None


def test_a_cache_that_cannot_be_written_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(validator_cache.ENV_CACHE, str(blocked))
    validator_cache.store(SCHEMA, "1.0", compiled())
    assert validator_cache.load(SCHEMA, "1.0") is None


def test_the_schemas_validate_alike_cached_or_not(cache_home: Path) -> None:
    """The validator built from the cache answers as the one just compiled."""
    from reconciler import schemas

    guardrail = {"kind": "Guardrail", "name": "g", "scope": "PROJECT"}
    for _ in range(2):  # compiled and stored, then loaded
        schemas._compiled.cache_clear()
        assert schemas.is_valid("guardrail.schema.json", guardrail)
        assert not schemas.is_valid("guardrail.schema.json", {**guardrail, "scope": "NOPE"})
        assert len(list(cache_home.iterdir())) == 1
    schemas._compiled.cache_clear()
