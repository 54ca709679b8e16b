"""Golden files are rewritten only on request, and never in CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.golden import check_golden, refusal, regenerating

ROOT = Path(__file__).resolve().parent.parent


def test_regenerating_only_on_request() -> None:
    assert regenerating({}) is False
    assert regenerating({"CI": "true"}) is False
    assert regenerating({"REGENERATE": "1"}) is True
    assert refusal({"REGENERATE": "1"}) is None


@pytest.mark.parametrize("ci", ["true", "1", ""])
def test_regenerating_in_ci_fails_the_test(ci: str) -> None:
    env = {"REGENERATE": "1", "CI": ci}
    with pytest.raises(pytest.fail.Exception, match="REGENERATE is refused when CI is set"):
        regenerating(env)


def test_a_golden_file_is_not_rewritten_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "golden.txt"
    path.write_text("old\n")
    monkeypatch.setenv("REGENERATE", "1")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="refused"):
        check_golden(path, "new")
    assert path.read_text() == "old\n"
    monkeypatch.delenv("CI")
    check_golden(path, "new")
    assert path.read_text() == "new\n"


def test_a_missing_golden_file_fails_outside_regenerate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REGENERATE", raising=False)
    path = tmp_path / "missing" / "golden.txt"
    with pytest.raises(pytest.fail.Exception, match="no golden file"):
        check_golden(path, "anything")
    assert not path.exists()
    path.parent.mkdir()
    path.write_text("old\n")
    with pytest.raises(AssertionError):
        check_golden(path, "new")
    assert path.read_text() == "old\n"
    check_golden(path, "old")


def test_a_session_that_would_regenerate_in_ci_does_not_start(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "REGENERATE": "1", "CI": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co", "tests/helpers"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "REGENERATE is refused when CI is set" in proc.stderr
