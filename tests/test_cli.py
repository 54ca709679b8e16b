"""The CLI contract: exit codes, global flags, help, and the error boundary."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import __version__
from reconciler.cli import main
from reconciler.commands import COMMANDS
from reconciler.context import Context


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, env=env or {}, cwd=cwd or Path.cwd())
    return code, out.getvalue(), err.getvalue()


def test_bad_flag_exits_1_with_one_line() -> None:
    code, _, err = run("validate", "--bogus")
    assert code == 1
    assert err.count("\n") == 1 and "--bogus" in err


def test_bad_choice_exits_1() -> None:
    code, _, err = run("validate", "--format", "yaml")
    assert code == 1 and "invalid choice" in err
    assert err.startswith("Error: reconciler validate: argument --format: invalid choice")
    assert err.endswith(" (see reconciler validate --help)\n")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["plan", "--taget", "Guardrail/X"],
            "reconciler plan: unrecognized argument --taget: did you mean --target?",
        ),
        (
            ["apply", "--auto-aprove", "--prnue"],
            "reconciler apply: unrecognized arguments: --auto-aprove (did you mean "
            "--auto-approve?), --prnue (did you mean --prune?)",
        ),
        (
            ["plan", "--taget=Guardrail/X", "--bogus"],
            "reconciler plan: unrecognized arguments: --taget=Guardrail/X (did you mean "
            "--target?), --bogus",
        ),
        (["validate", "a", "b"], "reconciler validate: unrecognized argument b"),
        (
            ["sandbox", "token", "--ogr=acme"],  # the innermost command's flags
            "reconciler sandbox token: unrecognized argument --ogr=acme: did you mean --org?",
        ),
        (["--bogus"], "reconciler: unrecognized argument --bogus"),
    ],
)
def test_an_unknown_flag_names_the_command_and_a_close_flag(
    tmp_path: Path, args: list[str], said: str
) -> None:
    code, out, err = run(*args, cwd=tmp_path)
    assert (code, out) == (1, "")
    prog = said.partition(":")[0]
    assert err == f"Error: {said} (see {prog} --help)\n"


def test_missing_directory_exits_1(tmp_path: Path) -> None:
    code, _, err = run("validate", "nope", cwd=tmp_path)
    assert (code, err) == (1, "Error: nope: no such directory\n")


def test_global_flags_before_and_after_the_command(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("org: acme\n")
    env = {"INFRACOST_ORG": "other"}
    assert run("validate", ".", cwd=tmp_path, env=env)[0] == 1
    assert run("--org", "acme", "validate", ".", cwd=tmp_path, env=env)[0] == 0
    assert run("validate", ".", "--org", "acme", cwd=tmp_path, env=env)[0] == 0


def test_version_and_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"reconciler {__version__}"
    code, out, _ = run()
    assert code == 0 and "validate" in out


class _Broken:
    HELP = "always fails"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        pass

    @staticmethod
    def run(args: argparse.Namespace, ctx: Context) -> int:
        raise RuntimeError("boom")


@pytest.fixture
def broken_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMANDS, "broken", _Broken())


@pytest.mark.usefixtures("broken_command")
def test_internal_error_exits_3_with_one_line() -> None:
    code, _, err = run("broken")
    assert code == 3
    assert err.count("\n") == 1
    assert "RuntimeError: boom" in err and "Traceback" not in err


class _Leaky(_Broken):
    @staticmethod
    def run(args: argparse.Namespace, ctx: Context) -> int:
        raise RuntimeError(f"request failed with {ctx.env['INFRACOST_SERVICE_TOKEN']}")


def test_the_token_never_reaches_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMANDS, "leaky", _Leaky())
    env = {"INFRACOST_SERVICE_TOKEN": "ics_v1_0123456789abcdef"}
    for args in (["leaky"], ["leaky", "--debug"]):
        code, out, err = run(*args, env=env)
        assert code == 3
        assert "0123456789abcdef" not in out + err
        assert "***" in err


@pytest.mark.usefixtures("broken_command")
def test_debug_shows_the_traceback() -> None:
    code, _, err = run("broken", "--debug")
    assert code == 3 and "Traceback" in err


def test_no_traceback_for_a_directory_of_garbage(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"\x00\x01\xff garbage: [")
    (tmp_path / "b.yml").write_text("{{{{")
    (tmp_path / "c.yaml").write_text("kind: [1, 2]\n")
    code, out, err = run("validate", ".", cwd=tmp_path)
    assert code == 1 and err == ""
    assert "Traceback" not in out
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["a.yaml", "b.yml", "c.yaml"]
