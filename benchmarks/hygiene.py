"""The tag-value hygiene check on 100,000 values, against reading the same values file.

Each figure is the median of 5 cold processes (a fresh interpreter each time). In each process,
the baseline is ``sources.read_values`` of the CSV (what validate does to get the values), then
the check is timed from ``import reconciler.hygiene`` to its findings, so lazy imports and
first-use costs count. Processes with the shape check turned off (``shapes: {check: false}``)
alternate with the others, so that its own cost is measured in the same rounds. Four lists:
- ``ids``: sequential application IDs (APP-000001...), the common case, with the house style
  ``{case: upper, separator: "-"}``; it must produce no finding;
- ``names``: ServiceNow-style names built from a small vocabulary (``payments-api-eu-0042``),
  with 100 seeded defects (variants, typos, stray characters): the near-duplicate search has
  work to do;
- ``typos``: application IDs (APP-00000) with 20 typos that have no twin (``APP-O1700``,
  ``APP-1800``, ``APPP-02100``...): 20 shape findings;
- ``worst``: the worst case of the shape check: four ID families, and a fifth of the list (the
  most a list with dominant shapes can hold) outside them, each value near a family's shape
  but two steps from it, in thousands of rare shapes: each is screened, many are tried step
  by step.
Target: the check under 1 s on 100,000 values.

    python benchmarks/hygiene.py [--values N] [--runs N]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import string
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from reconciler.sources import read_values
values = read_values(Path(sys.argv[1]), "app_id").values
t1 = time.perf_counter()
from reconciler.hygiene import variants as hygiene
from reconciler.hygiene.shapes import Settings
shapes = Settings(check=sys.argv[2] == "on")
style = hygiene.Style(*(sys.argv[3:5] or ["any", "any"]), shapes=shapes)
findings = hygiene.check(values, style)
t2 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "check": t2 - t1, "findings": len(findings)}))
"""
WORDS = (  # noqa: SIM905
    "payments billing ledger invoicing checkout catalog search identity reporting shipping "
    "fraud pricing loyalty inventory warehouse notifications audit exports analytics treasury"
).split()
PARTS = "api worker service frontend scheduler sync cache database queue portal gateway".split()  # noqa: SIM905


def ids(n: int) -> list[str]:
    return [f"APP-{i:06d}" for i in range(1, n + 1)]


def names(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n - 100:
        region = rng.choice(["eu", "us", "apac"])
        out[f"{rng.choice(WORDS)}-{rng.choice(PARTS)}-{region}-{rng.randrange(10_000):04d}"] = None
    clean = list(out)
    defects = []
    for base in rng.sample(clean, 100):
        kind = rng.randrange(4)
        if kind == 0:
            defects.append(base.upper())
        elif kind == 1:
            defects.append(base.replace("-", "_"))
        elif kind == 2:
            defects.append(base + " ")
        else:
            word = base.split("-")[0]
            defects.append(base.replace(word, word[0] + word[2] + word[1] + word[3:], 1))
    values = list(dict.fromkeys(clean + defects))
    rng.shuffle(values)
    return values


TYPOS = (  # noqa: SIM905
    "APP-O1700 APP-1800 APPP-02100 APP-I2200 AP-02300 PAP-02400 APQ-02500 APP02600 APP--02700 "
    "APP_02800 app-02900 APP-03000x APP-031000 APP-0S320 APP-0B330 APP-0Z340 APP-0l350 "
    "APP.03600 APPA-03700 APP-0380"
).split()


def typos(n: int) -> list[str]:
    fixed = {_fixed(t) for t in TYPOS}
    clean = (f"APP-{i:05d}" for i in range(n - len(TYPOS) + len(fixed)))
    return [v for v in clean if v not in fixed] + TYPOS


def _fixed(typo: str) -> str:
    """The ID a typo of ``TYPOS`` was meant to be (left out of the clean list: no twin)."""
    digits = "".join(c for c in typo.translate(str.maketrans("OISBZl", "015821")) if c.isdigit())
    return f"APP-{int(digits[-5:]) if len(digits) > 5 else int(digits):05d}"


def worst_case(n: int, seed: int = 11) -> list[str]:
    """Four ID families; a fifth of the list outside them, each value near a family's shape."""
    rng = random.Random(seed)
    outside = n // 5
    forms = ("APP-{:05d}", "CI{:07d}", "BA-FIN-{:05d}", "svc-payments-{:05d}")
    values = {form.format(i): None for i in range((n - outside) // 4) for form in forms}
    while len(values) < n:
        chars = list(f"{rng.randrange(100_000):05d}")
        chars[rng.randrange(5)] = rng.choice("OISBZosz")
        chars.insert(rng.randrange(6), rng.choice(string.punctuation.replace("-", "")))
        form = rng.choice(forms).replace("{:05d}", "{}").replace("{:07d}", "00{}")
        values.setdefault(form.format("".join(chars)), None)
    out = list(values)
    rng.shuffle(out)
    return out


def write_csv(path: Path, values: list[str]) -> None:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["sys_id", "app_id", "name", "business_unit"])
        out.writerows([f"{i:032x}", v, f"Application {i}", "Retail"] for i, v in enumerate(values))


def measure(path: Path, style: list[str], runs: int) -> dict[str, float]:
    """Medians of the check with the shape check on, and of its "off" rounds (interleaved)."""
    results: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    for _ in range(runs):
        for shapes in ("off", "on"):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), shapes, *style],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[shapes].append(json.loads(out))
    on, off = results["on"], results["off"]
    return {
        "read": statistics.median(r["read"] for r in on + off),
        "check": statistics.median(r["check"] for r in on),
        "findings": statistics.median(r["findings"] for r in on),
        "without shapes": statistics.median(r["check"] for r in off),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    worst = 0.0
    print(f"{args.values:,} values, median of {args.runs} cold processes")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("ids", ids(args.values), ["upper", "-"]),
            ("names", names(args.values), []),
            ("typos", typos(args.values), []),
            ("worst", worst_case(args.values), []),
        ]
        for label, values, style in cases:
            path = Path(tmp) / f"{label}.csv"
            write_csv(path, values)
            m = measure(path, style, args.runs)
            worst = max(worst, m["check"])
            print(
                f"{label:>6}: check {m['check']:.3f} s ({int(m['findings'])} findings), "
                f"reading the values file {m['read']:.3f} s, ratio {m['check'] / m['read']:.2f}x; "
                f"without the shape check {m['without shapes']:.3f} s"
            )
    print(f"target: the check under 1 s; worst {worst:.3f} s: {'met' if worst < 1 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
