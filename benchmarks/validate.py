"""validate on 100,000 allowed values, inline and from a CSV, against a bare-parse baseline.

Each figure is the median wall time of 5 cold processes (a fresh interpreter each time, so
imports count). Baselines, measured in the same run on the same files:
- inline: ``yaml.load`` of the policy file with libyaml's C loader;
- CSV: ``csv.reader`` over the CSV plus that YAML load of the policy.
Target: validate takes at most 1.5x its baseline.

    python benchmarks/validate.py [--values N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INLINE_BASELINE = """
import sys, yaml
with open(sys.argv[1], encoding="utf-8") as fh:
    yaml.load(fh.read(), Loader=yaml.CSafeLoader)
"""
CSV_BASELINE = """
import csv, sys, yaml
with open(sys.argv[1], encoding="utf-8") as fh:
    yaml.load(fh.read(), Loader=yaml.CSafeLoader)
with open(sys.argv[2], newline="", encoding="utf-8") as fh:
    for row in csv.reader(fh):
        pass
"""
HEAD = "kind: TaggingPolicy\nname: Application ID\ntags:\n  - key: app_id\n    mandatory: true\n"


def make(root: Path, n: int) -> tuple[Path, Path]:
    ids = [f"APP-{i:06d}" for i in range(n)]
    inline = root / "inline"
    inline.mkdir()
    body = "".join(f"      - {v}\n" for v in ids)
    (inline / "policy.yaml").write_text(HEAD + "    valueType: LIST\n    allowedValues:\n" + body)
    from_csv = root / "csv"
    (from_csv / "data").mkdir(parents=True)
    (from_csv / "policy.yaml").write_text(
        HEAD + "    valueType: LIST\n    allowedValuesFrom: {file: data/apps.csv, column: app_id}\n"
    )
    rows = "".join(f"{i:032x},{v},Application {i},Retail\n" for i, v in enumerate(ids))
    (from_csv / "data" / "apps.csv").write_text("sys_id,app_id,name,business_unit\n" + rows)
    return inline, from_csv


def timed(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        inline, from_csv = make(Path(tmp), args.values)
        cases = [
            ("inline", inline, [py, "-c", INLINE_BASELINE, str(inline / "policy.yaml")]),
            (
                "csv",
                from_csv,
                [
                    py,
                    "-c",
                    CSV_BASELINE,
                    str(from_csv / "policy.yaml"),
                    str(from_csv / "data" / "apps.csv"),
                ],
            ),
        ]
        print(f"{args.values:,} allowed values, median of {args.runs} cold processes")
        empty = Path(tmp) / "empty"
        empty.mkdir()
        (empty / "reconciler.yaml").write_text("org: bench\n")
        fixed = timed([py, "-m", "reconciler", "validate", str(empty)], args.runs)
        bare = timed([py, "-c", "import yaml"], args.runs)
        print(
            f" fixed: validate of a directory with only reconciler.yaml {fixed:.3f} s "
            f"(interpreter + imports), interpreter + PyYAML {bare:.3f} s"
        )
        for label, directory, baseline_cmd in cases:
            ours = timed([py, "-m", "reconciler", "validate", str(directory)], args.runs)
            base = timed(baseline_cmd, args.runs)
            ratio = ours / base
            worst = max(worst, ratio)
            print(
                f"{label:>6}: validate {ours:.3f} s, baseline {base:.3f} s, ratio {ratio:.2f}x; "
                f"without start-up: {ours - fixed:.3f} s vs {base - bare:.3f} s, "
                f"{(ours - fixed) / max(base - bare, 1e-9):.2f}x"
            )
    print(f"target: at most 1.50x; worst {worst:.2f}x: {'met' if worst <= 1.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
