"""Helpers for tests that drive the command line in-process, with their own streams."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli import main

if TYPE_CHECKING:
    from tests.helpers.sandbox import SandboxOrg


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``reconciler ARGS`` run in ``cwd`` with only ``env``."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, env=env or {}, cwd=cwd)
    return code, out.getvalue(), err.getvalue()


def against(org: SandboxOrg, **extra: str) -> tuple[list[str], dict[str, str]]:
    """Flags and environment that point the CLI at this test's sandbox org."""
    env = {"INFRACOST_SERVICE_TOKEN": org.token, **extra}
    return ["--api", org.base_url, "--org", org.org], env
