"""plan on a large org against its floor, measured in the same run.

The org: 500 tagging policies, 500 guardrails, and one policy whose tag allows 100,000 values
(read from a CSV), of which 1% differ between the files and the live state. The sandbox serves
it on 127.0.0.1 from a separate process.

Figures, each the median wall time of 5 cold processes:
- plan: ``reconciler plan DIR`` against the sandbox (HTTP included);
- plan --live: the same against a live snapshot file (no network);
- floor: what no implementation can avoid: a C-loader YAML load of the same files, a csv read
  of the values, a JSON load of the live payload, and a set difference of the big list.
Target: plan at most 1.5x the floor, and one list request per kind.

    python benchmarks/plan.py [--runs N] [--values N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _sandbox import sandbox

POLICIES = 500
GUARDRAILS = 500

FLOOR = """
import csv, glob, json, sys, yaml
root, live = sys.argv[1], sys.argv[2]
docs = []
for path in sorted(glob.glob(root + "/**/*.yaml", recursive=True)):
    with open(path, encoding="utf-8") as fh:
        docs.extend(yaml.load_all(fh.read(), Loader=yaml.CSafeLoader))
with open(root + "/data/apps.csv", newline="", encoding="utf-8") as fh:
    values = {row[0] for row in csv.reader(fh)}
with open(live, encoding="utf-8") as fh:
    payload = json.load(fh)
big = next(o for o in payload["TaggingPolicy"] if o["attributes"]["name"] == "Application ID")
have = set(big["attributes"]["tags"][0]["allowedValues"])
print(len(values - have), len(have - values), len(docs))
"""


def make_org(root: Path, n_values: int) -> tuple[Path, dict[str, list[dict[str, Any]]]]:
    """The desired-state directory and the live objects (1% of the big list differs)."""
    d = root / "desired"
    (d / "policies").mkdir(parents=True)
    (d / "guardrails").mkdir()
    (d / "data").mkdir()
    (d / "reconciler.yaml").write_text("org: bench\napi: sandbox\n")
    live: dict[str, list[dict[str, Any]]] = {"TaggingPolicy": [], "Guardrail": []}
    for f in range(10):
        docs = []
        for i in range(f * POLICIES // 10, (f + 1) * POLICIES // 10):
            docs.append(
                f"kind: TaggingPolicy\nname: Policy {i:04d}\nmessage: Tag everything, team {i}.\n"
                f"filters:\n  repos: {{include: [acme/repo-{i}-*]}}\n"
                f"tags:\n  - key: team\n    mandatory: true\n    valueType: LIST\n"
                f"    allowedValues: [team-{i}-a, team-{i}-b, team-{i}-c]\n"
            )
            live["TaggingPolicy"].append(
                {
                    "name": f"Policy {i:04d}",
                    "message": f"Tag everything, team {i}.",
                    "filters": {"repos": {"include": [f"acme/repo-{i}-*"]}},
                    "tags": [
                        {
                            "key": "team",
                            "mandatory": True,
                            "valueType": "LIST",
                            "allowedValues": [f"team-{i}-c", f"team-{i}-a", f"team-{i}-b"],
                        }
                    ],
                }
            )
        (d / "policies" / f"policies-{f}.yaml").write_text("---\n".join(docs))
        docs = []
        for i in range(f * GUARDRAILS // 10, (f + 1) * GUARDRAILS // 10):
            docs.append(
                f"kind: Guardrail\nname: Guardrail {i:04d}\nscope: PROJECT\n"
                f"totalThreshold: {1000 + i}\nmessage: Budget of project {i}.\nprComment: true\n"
            )
            live["Guardrail"].append(
                {
                    "name": f"Guardrail {i:04d}",
                    "scope": "PROJECT",
                    "totalThreshold": 1000 + i,
                    "message": f"Budget of project {i}.",
                    "prComment": True,
                }
            )
        (d / "guardrails" / f"guardrails-{f}.yaml").write_text("---\n".join(docs))
    values = [f"APP-{i:06d}" for i in range(n_values)]
    (d / "data" / "apps.csv").write_text("app_id\n" + "".join(v + "\n" for v in values))
    (d / "policies" / "application-id.yaml").write_text(
        "kind: TaggingPolicy\nname: Application ID\ntags:\n  - key: app_id\n    mandatory: true\n"
        "    valueType: LIST\n    allowedValuesFrom: {file: ../data/apps.csv, column: app_id}\n"
    )
    changed = n_values // 100
    live_values = values[changed:] + [f"OLD-{i:06d}" for i in range(changed)]
    live["TaggingPolicy"].append(
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


def timed(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if result.returncode not in (0, 2):
            raise SystemExit(f"{cmd} failed: {result.stderr.decode()[-2000:]}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--values", type=int, default=100_000)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp, sandbox(Path(tmp)) as served:
        root = Path(tmp)
        desired, live = make_org(root, args.values)
        served.seed({"tagging-policies": live["TaggingPolicy"], "guardrails": live["Guardrail"]})
        payload = {
            "TaggingPolicy": served.list("tagging-policies"),
            "Guardrail": served.list("guardrails"),
        }
        live_json = root / "live.json"
        live_json.write_text(json.dumps(payload))
        env = served.env()
        base = [py, "-m", "reconciler", "plan", str(desired), *served.flags()]
        snap = root / "snap.json"
        subprocess.run(
            [py, "-m", "reconciler", "snapshot", str(desired), *served.flags(), "-o", str(snap)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        requests_made = count_requests(served.api, served.token)
        ours = timed(base, args.runs, env)
        offline = timed([*base, "--live", str(snap)], args.runs, env)
        floor = timed([py, "-c", FLOOR, str(desired), str(live_json)], args.runs, env)
    print(
        f"{POLICIES} policies, {GUARDRAILS} guardrails, one policy with {args.values:,} "
        f"values (1% changed); median of {args.runs} cold processes"
    )
    print(f"  plan (HTTP to the sandbox): {ours:.3f} s, {requests_made} HTTP requests")
    print(f"  plan --live snapshot:       {offline:.3f} s")
    print(f"  floor:                      {floor:.3f} s")
    print(
        f"  ratio plan/floor {ours / floor:.2f}x, plan --live/floor {offline / floor:.2f}x "
        "(target: at most 1.50x)"
    )
    return 0


def count_requests(api: str, token: str) -> int:
    """Run the plan's fetch in-process once to count its requests (one list per kind)."""
    from reconciler.http.infracost import ApiClient
    from reconciler.live import fetch_live
    from reconciler.settings import Secret

    with ApiClient(api, "bench", Secret(token)) as client:
        fetch_live(client)
        return client.request_count


if __name__ == "__main__":
    sys.exit(main())
