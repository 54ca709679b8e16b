"""reconciler pull of 100,000 ServiceNow records (10 pages) against a bare loop of the same
paged GETs, measured in the same run, rounds interleaved.

The sandbox serves a 100,000-row ``cmdb_ci_business_app`` table on 127.0.0.1 from a separate
process (``reconciler sandbox serve --servicenow-table``). Figures, each the median wall time
of N cold processes:
- pull: ``reconciler pull DIR`` (every page, the guards, the sorted CSV written atomically);
- floor: the minimal honest program: ``requests`` GETs following ``Link: rel="next"`` with the
  same query, fields and page size, ``json`` parsing, and the same sorted CSV written.

    python benchmarks/pull.py [--runs N] [--records N]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLE = "cmdb_ci_business_app"
USER, PASSWORD = "bench", "bench-password"

FLOOR = """
import csv, sys, requests
base, out = sys.argv[1], sys.argv[2]
s = requests.Session()
s.trust_env = False
s.auth = ("bench", "bench-password")
url = base + "/api/now/table/cmdb_ci_business_app"
params = {"sysparm_query": "operational_status=1",
          "sysparm_fields": "sys_id,u_app_id,name,operational_status",
          "sysparm_limit": "10000", "sysparm_offset": "0"}
rows = set()
while url:
    r = s.get(url, params=params, timeout=60)
    r.raise_for_status()
    rows.update((x["u_app_id"], x["name"]) for x in r.json()["result"])
    url, params = r.links.get("next", {}).get("url"), None
with open(out, "w", encoding="utf-8", newline="") as fh:
    w = csv.writer(fh, lineterminator="\\n")
    w.writerow(["u_app_id", "name"])
    w.writerows(sorted(rows))
"""


def _table(path: Path, records: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["u_app_id", "name", "operational_status", "install_status"])
        for i in range(records):
            w.writerow([f"APP-{i:06d}", f"Application {i}", "1", "1"])


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 2):
        raise SystemExit(f"{command[:4]} failed: {result.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVICENOW_", "INFRACOST_"))}
    env.update(SERVICENOW_USER=USER, SERVICENOW_PASSWORD=PASSWORD)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _table(root / "table.csv", args.records)
        serve = [py, "-m", "reconciler", "sandbox", "serve", "--db", str(root / "s.db")]
        serve += ["--port", "0", "--servicenow-table", f"{TABLE}={root / 'table.csv'}"]
        proc = subprocess.Popen(
            serve, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert proc.stdout is not None
            base = proc.stdout.readline().strip()
            desired = root / "desired"
            desired.mkdir()
            (desired / "reconciler.yaml").write_text(
                "sources:\n  cmdb:\n    servicenow:\n"
                f"      instance: {base}\n"
                "      user: {fromEnv: SERVICENOW_USER}\n"
                "      password: {fromEnv: SERVICENOW_PASSWORD}\n"
                "pull:\n  - source: cmdb\n"
                f"    table: {TABLE}\n    query: operational_status=1\n"
                "    fields: [u_app_id, name]\n    file: data/apps.csv\n",
                encoding="utf-8",
            )
            pull_cmd = [py, "-m", "reconciler", "pull", str(desired)]
            floor_cmd = [py, "-c", FLOOR, base, str(root / "floor.csv")]
            pulls, floors = [], []
            for _ in range(args.runs):  # interleaved: pull, floor, pull, floor...
                (desired / "data" / "apps.csv").unlink(missing_ok=True)
                pulls.append(_timed(pull_cmd, env))
                floors.append(_timed(floor_cmd, env))
            same = (desired / "data" / "apps.csv").read_bytes() == (root / "floor.csv").read_bytes()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    pull_s, floor_s = statistics.median(pulls), statistics.median(floors)
    pages = -(-args.records // 10_000)
    print(f"{args.records:,} records ({pages} pages); median of {args.runs} cold processes")
    print(f"  pull:  {pull_s:.3f} s (min {min(pulls):.3f}, max {max(pulls):.3f})")
    print(f"  floor: {floor_s:.3f} s (min {min(floors):.3f}, max {max(floors):.3f})")
    print(f"  ratio pull/floor {pull_s / floor_s:.2f}x; same file: {same}")


if __name__ == "__main__":
    main()
