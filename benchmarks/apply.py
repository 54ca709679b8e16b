"""apply: 1,000 updates against the sandbox with 20 ms of injected latency per request, at
parallelism 1 and 8, measured in the same run. Each update is a PATCH plus the read-back GET.
Target: a speed-up of at least 5x.

    python benchmarks/apply.py [--objects N] [--latency-ms N] [--parallelism N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests


def desired(directory: Path, count: int, offset: int) -> Path:
    directory.mkdir(parents=True)
    (directory / "reconciler.yaml").write_text("org: bench\n")
    docs = [
        f"kind: Guardrail\nname: Guardrail {i:04d}\nscope: PROJECT\n"
        f"totalThreshold: {1000 + i + offset}\n"
        for i in range(count)
    ]
    (directory / "guardrails.yaml").write_text("---\n".join(docs))
    return directory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = root / "sandbox.db"
        token = subprocess.run(
            [py, "-m", "reconciler", "sandbox", "token", "--org", "bench", "--db", str(db)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        proc = subprocess.Popen(
            [
                py,
                "-m",
                "reconciler",
                "sandbox",
                "serve",
                "--db",
                str(db),
                "--port",
                "0",
                "--faults",
                f"latency_ms={args.latency_ms}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        try:
            with requests.Session() as s:
                s.trust_env = False
                s.headers["Authorization"] = f"Bearer {token}"
                for i in range(args.objects):
                    s.post(
                        f"{url}/v1/orgs/bench/guardrails",
                        json={
                            "data": {
                                "type": "guardrails",
                                "attributes": {
                                    "name": f"Guardrail {i:04d}",
                                    "scope": "PROJECT",
                                    "totalThreshold": 1000 + i,
                                },
                            }
                        },
                        timeout=30,
                    ).raise_for_status()
            env = {k: v for k, v in os.environ.items() if not k.startswith("INFRACOST_")}
            env["INFRACOST_SERVICE_TOKEN"] = token
            times = {}
            for offset, parallelism in ((1, 1), (2, args.parallelism)):
                d = desired(root / f"d{offset}", args.objects, offset)
                start = time.perf_counter()
                result = subprocess.run(
                    [
                        py,
                        "-m",
                        "reconciler",
                        "apply",
                        str(d),
                        "--api",
                        f"{url}/v1",
                        "--org",
                        "bench",
                        "--auto-approve",
                        "--parallelism",
                        str(parallelism),
                        "--format",
                        "json",
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                times[parallelism] = time.perf_counter() - start
                if result.returncode != 0:
                    raise SystemExit(result.stdout[-2000:] + result.stderr[-2000:])
                last = result.stdout.strip().splitlines()[-1]
                assert f'"applied": {args.objects}' in last, last
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    one, many = times[1], times[args.parallelism]
    print(
        f"{args.objects:,} updates (PATCH + read-back GET), {args.latency_ms} ms latency per "
        "request, one cold process each"
    )
    print(f"  parallelism 1: {one:.2f} s")
    print(f"  parallelism {args.parallelism}: {many:.2f} s")
    print(f"  speed-up {one / many:.2f}x (target: at least 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
