"""Custom properties against their baseline: a git ref, the last upload's record, or none."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.errors import InputError
from reconciler.kinds.custom_properties import baseline_change, write_record
from reconciler.model import CustomPropertiesTable, Location
from reconciler.sources import read_table

CSV = "repo,team,contact\nacme/a,payments,ann@acme.com\nacme/b,search,bob@acme.com\n"


def table(path: Path) -> CustomPropertiesTable:
    t = read_table(path)
    return CustomPropertiesTable(Location(path), path, t.header, t.rows, t.digest)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "cp.csv").write_text(CSV)
    return tmp_path


def test_no_baseline_is_an_unverifiable_sync(directory: Path) -> None:
    change = baseline_change(directory, table(directory / "cp.csv"), None)
    assert (change.status, change.baseline, change.rows) == ("sync", "none", 2)


def test_the_last_upload_record(directory: Path) -> None:
    write_record(directory, table(directory / "cp.csv"))
    record = (directory / ".reconciler" / "custom-properties.json").read_text()
    assert "ann@acme.com" not in record and "payments" not in record  # hashes, not cells
    assert baseline_change(directory, table(directory / "cp.csv"), None).status == "no-op"
    (directory / "cp.csv").write_text(
        "repo,team,contact\nacme/a,payments,ann@acme.com\nacme/b,billing,bob@acme.com\n"
        "acme/c,infra,cy@acme.com\n"
    )
    change = baseline_change(directory, table(directory / "cp.csv"), None)
    assert (change.status, change.added, change.changed, change.removed) == (
        "update",
        ("acme/c",),
        ("acme/b",),
        (),
    )


def _git(directory: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=directory,
        check=True,
        capture_output=True,
    )


def test_a_git_ref_as_baseline(directory: Path) -> None:
    _git(directory, "init", "-q")
    _git(directory, "add", "cp.csv")
    _git(directory, "commit", "-qm", "base")
    (directory / "cp.csv").write_text("repo,team,contact\nacme/a,payments,ann@acme.com\n")
    change = baseline_change(directory, table(directory / "cp.csv"), "HEAD")
    assert (change.status, change.removed, change.baseline) == ("update", ("acme/b",), "git HEAD")


def test_a_file_new_at_the_ref_is_all_added(directory: Path) -> None:
    _git(directory, "init", "-q")
    (directory / "other").write_text("x")
    _git(directory, "add", "other")
    _git(directory, "commit", "-qm", "base")
    change = baseline_change(directory, table(directory / "cp.csv"), "HEAD")
    assert change.added == ("acme/a", "acme/b")


def test_bad_refs_are_clear_errors(directory: Path) -> None:
    with pytest.raises(InputError, match="not inside a git repository"):
        baseline_change(directory, table(directory / "cp.csv"), "main")
    _git(directory, "init", "-q")
    _git(directory, "add", "cp.csv")
    _git(directory, "commit", "-qm", "base")
    with pytest.raises(InputError, match="no such commit"):
        baseline_change(directory, table(directory / "cp.csv"), "nope")
