"""apply DIR asks on a terminal: only 'yes' applies."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.sandbox import SandboxOrg


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "reconciler.yaml").write_text("org: acme\napi: sandbox\n")
    (tmp_path / "g.yaml").write_text(
        "kind: Guardrail\nname: G\nscope: PROJECT\ntotalThreshold: 1\n"
    )
    return tmp_path


def _run_in_terminal(directory: Path, org: SandboxOrg, answer: str) -> tuple[int, str]:
    main_fd, child_fd = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRACOST_")}
    env.update({"INFRACOST_SERVICE_TOKEN": org.token, "NO_COLOR": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", ".", "--api", org.base_url, "--org", org.org],
        cwd=directory,
        env=env,
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
    )
    os.close(child_fd)
    output = b""
    deadline = time.monotonic() + 30
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main_fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"Enter a value:" in output:
            os.write(main_fd, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(timeout=10)
    os.close(main_fd)
    return code, output.decode(errors="replace")


@pytest.mark.parametrize(("answer", "code", "writes"), [("yes", 0, 1), ("no", 1, 0), ("y", 1, 0)])
def test_only_yes_applies(
    tmp_path: Path, sandbox_org: SandboxOrg, answer: str, code: int, writes: int
) -> None:
    got, output = _run_in_terminal(_directory(tmp_path), sandbox_org, answer)
    assert got == code, output
    assert "Only 'yes' will be accepted" in output
    assert sandbox_org.writes() == writes
    if code:
        assert "Apply cancelled." in output
