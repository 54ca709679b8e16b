"""Start-up: ``reconciler --help`` and ``validate`` of a directory with one small file, against
``python -c pass``, whole cold processes in interleaved rounds; medians, and what reconciler adds
to the bare interpreter. The package's modules are byte-compiled, as in an installed wheel.

    python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _sandbox import child_env


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, env=child_env())
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{cmd} failed: {result.stderr.decode()[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "reconciler.yaml").write_text("org: acme\n")
        (d / "guardrail.yaml").write_text(
            "kind: Guardrail\nname: Budget\nscope: PROJECT\ntotalThreshold: 1000\n"
        )
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "reconciler --help": [py, "-m", "reconciler", "--help"],
            "reconciler validate (1 file)": [py, "-m", "reconciler", "validate", str(d)],
        }
        for cmd in commands.values():  # warm the page cache and the validator cache
            timed(cmd)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd))
    bare = statistics.median(times["python -c pass"])
    print(f"median of {args.runs} interleaved rounds of cold processes")
    for name, values in times.items():
        median = statistics.median(values)
        extra = "" if name.startswith("python") else f"  (+{(median - bare) * 1000:4.0f} ms)"
        print(f"  {name:<30} {median * 1000:6.0f} ms  {median / bare:5.2f}x{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
