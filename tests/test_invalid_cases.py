"""The corpus of bad inputs: each case's exact messages and locations.

A case is ``tests/cases/invalid/<name>/`` with ``dir/`` (the desired-state directory),
``expected.txt`` (the exact output of ``reconciler validate dir``), and optionally ``env``
(KEY=VALUE lines) and ``args`` (extra flags). Regenerate an expectation only after reading
the new output: ``REGENERATE=1 pytest tests/test_invalid_cases.py``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from reconciler.cli import main
from tests.helpers.golden import regenerating

CASES = Path(__file__).parent / "cases" / "invalid"


def _run(case: Path) -> tuple[int, str, str]:
    env: dict[str, str] = {}
    if (case / "env").exists():
        for line in (case / "env").read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
    args = (case / "args").read_text().split() if (case / "args").exists() else []
    out, err = io.StringIO(), io.StringIO()
    code = main(["validate", "dir", *args], stdout=out, stderr=err, env=env, cwd=case)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()), ids=str)
def test_invalid_case(case: str) -> None:
    path = CASES / case
    code, out, err = _run(path)
    expected_file = path / "expected.txt"
    if regenerating():
        expected_file.write_text(out)
    assert err == ""
    assert "Traceback" not in out
    assert out == expected_file.read_text()
    assert code == 1
    assert out.splitlines()[-1].startswith("Invalid: ")
    # of its own, whatever expected.txt says (REGENERATE rewrites it): every finding located,
    # one per line, and the last line counts them
    *findings, last = out.splitlines()
    assert findings, out
    located = re.compile(r"\S.*?:\d+:\d+: (?:(warning|note): )?\S")
    kinds = []
    for line in findings:
        match = located.match(line)
        assert match, f"not located: {line}"
        kinds.append(match.group(1) or "error")
    errors, warnings = kinds.count("error"), kinds.count("warning")
    assert errors > 0
    expected = f"Invalid: {errors} error{'s' if errors != 1 else ''}"
    if warnings:
        expected += f", {warnings} warning{'s' if warnings != 1 else ''}"
    assert last == expected + "."


def test_corpus_is_large_enough() -> None:
    assert len(list(CASES.iterdir())) >= 30
