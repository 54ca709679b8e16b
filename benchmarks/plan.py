"""plan against its honest floor, measured in the same run, rounds interleaved.

The floor is ``benchmarks/plan_floor.py``: YAML with ``yaml.CSafeLoader``, the CSV with ``csv``,
the two list GETs with ``requests`` against the same sandbox server, per-object set differences
with the schema defaults, the changed values printed. Each figure is a whole cold process
(``reconciler plan DIR`` with its HTTP, text output); the rounds alternate plan, floor, plan,
floor... and the medians are compared. Peak memory is each child's maximum resident set size,
as GNU time (/usr/bin/time) reports it.

Cases (the sandbox serves the live state from its own process on 127.0.0.1):
- values: 500 tagging policies, 500 guardrails, and one policy whose tag allows N values read
  from a CSV (default 100,000), 1% of them differ from the live list. Target: 1.4x.
- objects: N small objects (default 5,000, half policies, half guardrails, in files of 100),
  1% of them changed. Target: 1.6x.
Growth: ``--values 1000000 --objects 10000``: the time per value and per object stays flat, and
peak memory within 1.3x of the floor's.

    python benchmarks/plan.py [--runs N] [--values N] [--objects N] [--case values|objects]
        [--before PYTHON]

``--before``: the interpreter of another checkout (e.g. ``main``'s venv): its plan runs too, in
the same rounds (plan, before, floor, ...).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _sandbox import Served, sandbox

FLOOR = Path(__file__).resolve().parent / "plan_floor.py"
POLICIES = 500
GUARDRAILS = 500
PER_FILE = 100


def policy(i: int, shift: int = 0) -> tuple[str, dict[str, Any]]:
    """A small tagging policy as YAML and as live attributes (``shift`` changes one value)."""
    text = (
        f"kind: TaggingPolicy\nname: Policy {i:05d}\nmessage: Tag everything, team {i}.\n"
        f"filters:\n  repos: {{include: [acme/repo-{i}-*]}}\n"
        f"tags:\n  - key: team\n    mandatory: true\n    valueType: LIST\n"
        f"    allowedValues: [team-{i}-a, team-{i}-b, team-{i}-c]\n"
    )
    live = {
        "name": f"Policy {i:05d}",
        "message": f"Tag everything, team {i}.",
        "filters": {"repos": {"include": [f"acme/repo-{i}-*"]}},
        "tags": [
            {
                "key": "team",
                "mandatory": True,
                "valueType": "LIST",
                "allowedValues": [
                    f"team-{i}-c",
                    f"team-{i}-a",
                    f"team-{i}-{'b' if not shift else 'x'}",
                ],
            }
        ],
    }
    return text, live


def guardrail(i: int, shift: int = 0) -> tuple[str, dict[str, Any]]:
    text = (
        f"kind: Guardrail\nname: Guardrail {i:05d}\nscope: PROJECT\n"
        f"totalThreshold: {1000 + i}\nmessage: Budget of project {i}.\nprComment: true\n"
    )
    live = {
        "name": f"Guardrail {i:05d}",
        "scope": "PROJECT",
        "totalThreshold": 1000 + i + shift,
        "message": f"Budget of project {i}.",
        "prComment": True,
    }
    return text, live


def write_objects(
    d: Path, policies: int, guardrails: int, changed_every: int
) -> dict[str, list[dict[str, Any]]]:
    """The YAML files of the objects under ``d`` and their live twins; every ``changed_every``-th
    one differs (0: none)."""
    live: dict[str, list[dict[str, Any]]] = {"tagging-policies": [], "guardrails": []}
    for folder, count, make, path in (
        ("policies", policies, policy, "tagging-policies"),
        ("guardrails", guardrails, guardrail, "guardrails"),
    ):
        (d / folder).mkdir(parents=True, exist_ok=True)
        for start in range(0, count, PER_FILE):
            docs = []
            for i in range(start, min(count, start + PER_FILE)):
                shift = 1 if changed_every and i % changed_every == 0 else 0
                text, attributes = make(i, shift)
                docs.append(text)
                live[path].append(attributes)
            (d / folder / f"{folder}-{start // PER_FILE:04d}.yaml").write_text("---\n".join(docs))
    return live


def values_case(root: Path, n_values: int) -> tuple[Path, dict[str, list[dict[str, Any]]]]:
    d = root / "values"
    live = write_objects(d, POLICIES, GUARDRAILS, 0)
    (d / "reconciler.yaml").write_text("org: bench\n")
    (d / "data").mkdir()
    values = [f"APP-{i:07d}" for i in range(n_values)]
    (d / "data" / "apps.csv").write_text("app_id\n" + "".join(v + "\n" for v in values))
    (d / "policies" / "application-id.yaml").write_text(
        "kind: TaggingPolicy\nname: Application ID\ntags:\n  - key: app_id\n    mandatory: true\n"
        "    valueType: LIST\n    allowedValuesFrom: {file: ../data/apps.csv, column: app_id}\n"
    )
    changed = n_values // 100
    live_values = values[changed:] + [f"OLD-{i:07d}" for i in range(changed)]
    live["tagging-policies"].append(
        {
            "name": "Application ID",
            "tags": [
                {
                    "key": "app_id",
                    "mandatory": True,
                    "valueType": "LIST",
                    "allowedValues": live_values,
                }
            ],
        }
    )
    return d, live


def objects_case(root: Path, n_objects: int) -> tuple[Path, dict[str, list[dict[str, Any]]]]:
    d = root / "objects"
    live = write_objects(d, n_objects // 2, n_objects - n_objects // 2, 100)
    (d / "reconciler.yaml").write_text("org: bench\n")
    return d, live


@dataclass
class Figures:
    seconds: list[float]
    peak_kib: list[int]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return statistics.median(self.peak_kib)


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def run_once(cmd: list[str], env: dict[str, str], figures: Figures, cwd: Path) -> None:
    """One cold process: its wall time and its own peak resident set. ``cwd`` holds no
    ``reconciler`` package: ``python -m`` puts the working directory first on sys.path, so
    from a checkout's root every interpreter would run that checkout's code (``--before`` too).

    The peak is read by GNU time, a small process that starts the measured one: Linux keeps
    the high-water mark of the memory a process was started from across exec, so wait4 on a
    child of this (large) process would report this process's peak whenever it is higher."""
    with tempfile.NamedTemporaryFile("r") as out:
        wrapped = [GNU_TIME, "-f", "%M", "-o", out.name, *cmd] if GNU_TIME else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        figures.seconds.append(time.perf_counter() - start)
        reported = out.read().strip().splitlines()
    # KiB on Linux; wait4's figure is an upper bound (see above) where GNU time is missing
    figures.peak_kib.append(int(reported[-1]) if GNU_TIME and reported else usage.ru_maxrss)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        raise SystemExit(f"{cmd} failed ({code}): {err.decode()[-2000:]}")


def measure(
    desired: Path, served: Served, runs: int, before: str | None
) -> tuple[Figures, Figures, Figures | None]:
    env = served.env()
    commands = {"plan": sys.executable, "before": before}
    figures = {name: Figures([], []) for name, python in commands.items() if python}
    floor = Figures([], [])
    floor_cmd = [sys.executable, str(FLOOR), str(desired), served.api, "bench"]

    def plan(python: str) -> list[str]:
        return [python, "-m", "reconciler", "plan", str(desired), *served.flags()]

    cwd = desired.parent  # the run's temporary directory
    for name in figures:  # warm the page cache, the byte code and the sandbox, unmeasured
        run_once(plan(str(commands[name])), env, Figures([], []), cwd)
    run_once(floor_cmd, env, Figures([], []), cwd)
    for _ in range(runs):
        for name, figure in figures.items():
            run_once(plan(str(commands[name])), env, figure, cwd)
        run_once(floor_cmd, env, floor, cwd)
    return figures["plan"], floor, figures.get("before")


def report(
    title: str,
    units: int,
    unit: str,
    target: float,
    ours: Figures,
    base: Figures,
    before: Figures | None,
) -> None:
    ratio = ours.median / base.median
    memory = ours.peak / base.peak
    print(title)
    rows = [("plan", ours), ("floor", base)] + ([("before", before)] if before else [])
    for name, figures in rows:
        print(
            f"  {name:<6} {figures.median:6.3f} s  ({figures.median / units * 1e6:7.2f} us per "
            f"{unit})  peak {figures.peak / 1024:5.0f} MiB"
        )
    print(
        f"  ratio  {ratio:.2f}x (target: at most {target:.1f}x), peak memory {memory:.2f}x "
        "(target: at most 1.3x)"
    )
    if before:
        print(
            f"  before {before.median / base.median:.2f}x the floor, peak memory "
            f"{before.peak / base.peak:.2f}x"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds per case")
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--objects", type=int, default=5_000)
    parser.add_argument("--case", choices=("values", "objects"), action="append")
    parser.add_argument(
        "--before", metavar="PYTHON", help="also time the plan of another checkout's interpreter"
    )
    args = parser.parse_args()
    cases = args.case or ["values", "objects"]
    print(f"median of {args.runs} interleaved rounds of cold processes, {os.cpu_count()} CPUs")
    for case in cases:
        with tempfile.TemporaryDirectory() as tmp, sandbox(Path(tmp)) as served:
            if case == "values":
                desired, live = values_case(Path(tmp), args.values)
            else:
                desired, live = objects_case(Path(tmp), args.objects)
            served.seed(live)
            ours, base, before = measure(desired, served, args.runs, args.before)
        if case == "values":
            title = (
                f"{POLICIES} policies, {GUARDRAILS} guardrails, one policy with "
                f"{args.values:,} values from a CSV (1% changed)"
            )
            report(title, args.values, "value", 1.4, ours, base, before)
        else:
            title = f"{args.objects:,} small objects (1% changed)"
            report(title, args.objects, "object", 1.6, ours, base, before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
