"""apply: 1,000 updates against the sandbox with 20 ms of injected latency per request, at
``--parallelism 8``: the time of one cold process and the requests per change, as the sandbox
counts them (its test-only stats route).

With ``--before PYTHON`` (the interpreter of another checkout, e.g. ``main``'s venv), that
version's ``reconciler apply`` runs too, against the same sandbox, rounds interleaved (before,
after, before, after...). Each round updates every object: thresholds move by one each time.
Target: one request per update (the PATCH's answer is the object; no read-back GET).

    python benchmarks/apply.py [--objects N] [--latency-ms N] [--parallelism N] [--runs N]
        [--before PYTHON]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from _sandbox import ORG, Served, sandbox


def desired(directory: Path, count: int, offset: int) -> Path:
    directory.mkdir(parents=True)
    (directory / "reconciler.yaml").write_text(f"org: {ORG}\n")
    docs = [
        f"kind: Guardrail\nname: Guardrail {i:04d}\nscope: PROJECT\n"
        f"totalThreshold: {1000 + i + offset}\n"
        for i in range(count)
    ]
    (directory / "guardrails.yaml").write_text("---\n".join(docs))
    return directory


def received(served: Served) -> int:
    """The API requests the sandbox received for the org so far."""
    with requests.Session() as s:
        s.trust_env = False
        s.headers["Authorization"] = f"Bearer {served.token}"
        url = served.api.removesuffix("/v1") + f"/_sandbox/orgs/{ORG}/stats"
        count: int = s.get(url, timeout=60).json()["requests"]
        return count


def apply_once(
    python: str, d: Path, served: Served, objects: int, parallelism: int
) -> tuple[float, int]:
    """One cold ``reconciler apply DIR``: its wall time and the requests it sent."""
    before = received(served)
    start = time.perf_counter()
    result = subprocess.run(
        [
            python,
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
        cwd=d,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stdout[-2000:] + result.stderr[-2000:])
    last = result.stdout.strip().splitlines()[-1]
    assert f'"applied": {objects}' in last, last
    return seconds, received(served) - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="rounds per version")
    parser.add_argument("--before", metavar="PYTHON", help="the interpreter of the version before")
    args = parser.parse_args()
    versions = {"after": sys.executable}
    if args.before:
        versions = {"before": args.before, **versions}
    guardrails = [
        {"name": f"Guardrail {i:04d}", "scope": "PROJECT", "totalThreshold": 1000 + i}
        for i in range(args.objects)
    ]
    figures: dict[str, list[tuple[float, int]]] = {name: [] for name in versions}
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox(Path(tmp), f"latency_ms={args.latency_ms}") as served,
    ):
        served.seed({"guardrails": guardrails})
        offset = 0
        for _ in range(args.runs):
            for name, python in versions.items():
                offset += 1
                d = desired(Path(tmp) / f"d{offset}", args.objects, offset)
                figures[name].append(apply_once(python, d, served, args.objects, args.parallelism))
    print(
        f"{args.objects:,} updates, {args.latency_ms} ms latency per request, --parallelism "
        f"{args.parallelism}; median of {args.runs} cold processes (the plan's list GETs "
        "included)"
    )
    for name, runs in figures.items():
        seconds = statistics.median(t for t, _ in runs)
        sent = statistics.median(n for _, n in runs)
        print(
            f"  {name:<6} {seconds:6.2f} s  {sent:5.0f} requests, "
            f"{sent / args.objects:.2f} per change (target: 1)"
        )
    if args.before:
        before = statistics.median(t for t, _ in figures["before"])
        after = statistics.median(t for t, _ in figures["after"])
        print(f"  time after/before {after / before:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
