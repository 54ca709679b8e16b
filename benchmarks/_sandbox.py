"""A sandbox server in its own process for benchmarks: a token, a seeded org, the CLI's env."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ORG = "bench"


def child_env() -> dict[str, str]:
    """The environment of a measured process, as an installed reconciler runs: a wheel's modules
    are byte-compiled when it is installed, so PYTHONDONTWRITEBYTECODE is dropped (with it, a
    source checkout compiles the whole package again in every process: 100 ms and more)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Served:
    api: str  # the base URL, ending in /v1
    token: str

    def env(self) -> dict[str, str]:
        """This process's environment, pointed at the sandbox and nothing else."""
        env = {k: v for k, v in child_env().items() if not k.startswith("INFRACOST_")}
        env["INFRACOST_SERVICE_TOKEN"] = self.token
        return env

    def flags(self) -> list[str]:
        return ["--api", self.api, "--org", ORG]

    def seed(self, objects: Mapping[str, Iterable[dict[str, Any]]]) -> None:
        """Create objects through the API: ``{"guardrails": [attributes, ...], ...}``."""
        with requests.Session() as s:
            s.trust_env = False  # 127.0.0.1 only, whatever the proxy settings
            s.headers["Authorization"] = f"Bearer {self.token}"
            for path, items in objects.items():
                for attributes in items:
                    s.post(
                        f"{self.api}/orgs/{ORG}/{path}",
                        json={"data": {"type": path, "attributes": attributes}},
                        timeout=60,
                    ).raise_for_status()

    def list(self, path: str) -> list[dict[str, Any]]:
        with requests.Session() as s:
            s.trust_env = False
            s.headers["Authorization"] = f"Bearer {self.token}"
            data: list[dict[str, Any]] = s.get(f"{self.api}/orgs/{ORG}/{path}", timeout=60).json()[
                "data"
            ]
            return data


@contextmanager
def sandbox(root: Path, faults: str = "") -> Iterator[Served]:
    """``reconciler sandbox serve`` on 127.0.0.1:0 with a fresh database under ``root``."""
    py, db = sys.executable, root / "sandbox.db"
    token = subprocess.run(
        [py, "-m", "reconciler", "sandbox", "token", "--org", ORG, "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    command = [py, "-m", "reconciler", "sandbox", "serve", "--db", str(db), "--port", "0"]
    command += ["--max-body-bytes", str(64 * 1024 * 1024)]  # a list of 1,000,000 values
    if faults:
        command += ["--faults", faults]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield Served(f"{proc.stdout.readline().strip()}/v1", token)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
