"""Custom properties against their baseline: a git ref, the record of the last upload to the
same org and API, or none."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reconciler.errors import InputError
from reconciler.kinds.custom_properties import baseline_change, write_record
from reconciler.model import CustomPropertiesTable, Location, UploadTarget
from reconciler.sources import read_table

ACME = UploadTarget("acme", "https://api.example.com/v1")
CSV = "repo,team,contact\nacme/a,payments,ann@acme.com\nacme/b,search,bob@acme.com\n"


def table(path: Path) -> CustomPropertiesTable:
    t = read_table(path)
    return CustomPropertiesTable(Location(path), path, t.header, t.rows, t.digest)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "cp.csv").write_text(CSV)
    return tmp_path


def test_no_baseline_is_an_unverifiable_sync(directory: Path) -> None:
    change = baseline_change(directory, table(directory / "cp.csv"), None, ACME)
    assert (change.status, change.baseline, change.rows) == ("sync", "none", 2)


def test_the_last_upload_record(directory: Path) -> None:
    write_record(directory, table(directory / "cp.csv"), ACME)
    record = (directory / ".reconciler" / "custom-properties.json").read_text()
    assert "ann@acme.com" not in record and "payments" not in record  # hashes, not cells
    assert baseline_change(directory, table(directory / "cp.csv"), None, ACME).status == "no-op"
    (directory / "cp.csv").write_text(
        "repo,team,contact\nacme/a,payments,ann@acme.com\nacme/b,billing,bob@acme.com\n"
        "acme/c,infra,cy@acme.com\n"
    )
    change = baseline_change(directory, table(directory / "cp.csv"), None, ACME)
    assert (change.status, change.added, change.changed, change.removed) == (
        "update",
        ("acme/c",),
        ("acme/b",),
        (),
    )


def test_a_record_is_of_one_org_and_api(directory: Path) -> None:
    write_record(directory, table(directory / "cp.csv"), ACME)
    for other in (
        UploadTarget("globex", ACME.api),
        UploadTarget("acme", "http://127.0.0.1:8799/v1"),
        UploadTarget("acme", "sandbox"),
    ):
        assert baseline_change(directory, table(directory / "cp.csv"), None, other).status == (
            "sync"
        )
    same = UploadTarget.of("acme", "HTTPS://api.example.com/v1/")
    assert baseline_change(directory, table(directory / "cp.csv"), None, same).status == "no-op"


def test_uploads_to_other_targets_keep_their_records(directory: Path) -> None:
    served = UploadTarget("acme", "http://127.0.0.1:8799/v1")
    write_record(directory, table(directory / "cp.csv"), ACME)
    (directory / "cp.csv").write_text("repo,team,contact\nacme/a,payments,ann@acme.com\n")
    write_record(directory, table(directory / "cp.csv"), served)
    assert baseline_change(directory, table(directory / "cp.csv"), None, served).status == "no-op"
    change = baseline_change(directory, table(directory / "cp.csv"), None, ACME)
    assert (change.status, change.removed) == ("update", ("acme/b",))
    record = json.loads((directory / ".reconciler" / "custom-properties.json").read_text())
    assert [(u["org"], u["api"]) for u in record["uploads"]] == [
        ("acme", "http://127.0.0.1:8799/v1"),
        ("acme", "https://api.example.com/v1"),
    ]


def test_the_embedded_sandbox_is_one_target_however_a_plan_names_it() -> None:
    assert UploadTarget.of("acme", "sandbox:/tmp/x/.reconciler/sandbox.db") == UploadTarget(
        "acme", "sandbox"
    )
    assert UploadTarget.of("acme", "sandbox") == UploadTarget("acme", "sandbox")


def test_a_record_without_org_and_api_is_no_record_anywhere(directory: Path) -> None:
    """The first format (one upload, no target): the next plan uploads again, harmlessly."""
    rows = {"acme/a": "0" * 64}
    (directory / ".reconciler").mkdir()
    record = directory / ".reconciler" / "custom-properties.json"
    record.write_text(json.dumps({"digest": "d", "rows": rows}))
    change = baseline_change(directory, table(directory / "cp.csv"), None, ACME)
    assert (change.status, change.baseline) == ("sync", "none")
    write_record(directory, table(directory / "cp.csv"), ACME)
    assert [u["org"] for u in json.loads(record.read_text())["uploads"]] == ["acme"]


@pytest.mark.parametrize("text", ["{", "[]", '{"uploads": [{"rows": 1}]}', '{"uploads": 3}'])
def test_a_damaged_record_is_a_clear_error(directory: Path, text: str) -> None:
    (directory / ".reconciler").mkdir()
    (directory / ".reconciler" / "custom-properties.json").write_text(text)
    with pytest.raises(InputError, match=r"custom-properties.json: damaged; delete it"):
        baseline_change(directory, table(directory / "cp.csv"), None, ACME)


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
    change = baseline_change(directory, table(directory / "cp.csv"), "HEAD", ACME)
    assert (change.status, change.removed, change.baseline) == ("update", ("acme/b",), "git HEAD")


def test_a_file_new_at_the_ref_is_all_added(directory: Path) -> None:
    _git(directory, "init", "-q")
    (directory / "other").write_text("x")
    _git(directory, "add", "other")
    _git(directory, "commit", "-qm", "base")
    change = baseline_change(directory, table(directory / "cp.csv"), "HEAD", ACME)
    assert change.added == ("acme/a", "acme/b")


def test_bad_refs_are_clear_errors(directory: Path) -> None:
    with pytest.raises(InputError, match="not inside a git repository"):
        baseline_change(directory, table(directory / "cp.csv"), "main", ACME)
    _git(directory, "init", "-q")
    _git(directory, "add", "cp.csv")
    _git(directory, "commit", "-qm", "base")
    with pytest.raises(InputError, match="no such commit"):
        baseline_change(directory, table(directory / "cp.csv"), "nope", ACME)
