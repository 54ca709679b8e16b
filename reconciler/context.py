"""What every command receives from the CLI: streams, environment, working directory and the
global flags.

Commands take these explicitly so tests pass their own streams instead of patching globals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class Context:
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    cwd: Path
    debug: bool = False  # --debug
    color: bool = False  # stdout is a terminal; no --no-color, NO_COLOR (non-empty), TERM=dumb
    org: str | None = None  # --org
    api: str | None = None  # --api

    def display_path(self, path: Path) -> str:
        """A path as the user should read it: relative to the working directory when inside it."""
        try:
            rel = os.path.relpath(path, self.cwd)
        except ValueError:  # another drive on Windows
            return str(path)
        return str(path) if rel.startswith("..") else rel
