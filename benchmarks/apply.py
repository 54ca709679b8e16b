"""apply: 1,000 updates against the sandbox with 20 ms of injected latency per request, at
parallelism 1 and 8, measured in the same run. Each update is a PATCH plus the read-back GET.
Target: a speed-up of at least 5x.

    python benchmarks/apply.py [--objects N] [--latency-ms N] [--parallelism N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sandbox import sandbox


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
    guardrails = [
        {"name": f"Guardrail {i:04d}", "scope": "PROJECT", "totalThreshold": 1000 + i}
        for i in range(args.objects)
    ]
    times = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox(Path(tmp), f"latency_ms={args.latency_ms}") as served,
    ):
        served.seed({"guardrails": guardrails})
        for offset, parallelism in ((1, 1), (2, args.parallelism)):
            d = desired(Path(tmp) / f"d{offset}", args.objects, offset)
            start = time.perf_counter()
            result = subprocess.run(
                [
                    py,
                    "-m",
                    "reconciler",
                    "apply",
                    str(d),
                    *served.flags(),
                    "--auto-approve",
                    "--parallelism",
                    str(parallelism),
                    "--format",
                    "json",
                ],
                env=served.env(),
                capture_output=True,
                text=True,
            )
            times[parallelism] = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(result.stdout[-2000:] + result.stderr[-2000:])
            last = result.stdout.strip().splitlines()[-1]
            assert f'"applied": {args.objects}' in last, last
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
