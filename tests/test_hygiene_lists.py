"""Tag-value hygiene on lists of real size: a ServiceNow export with seeded defects of every kind,
and 100,000 sequential IDs. Every seeded defect is found, and nothing else is."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from reconciler.cli import main
from reconciler.hygiene import variants as hygiene
from reconciler.hygiene.variants import Style

STYLE = Style("lower", "-")
# Words no two of which are one edit apart, so that the clean values are clean.
DOMAINS = (  # noqa: SIM905
    "payments billing ledger invoicing checkout catalog search identity reporting shipping "
    "fraud pricing loyalty inventory warehouse notifications audit exports analytics marketing "
    "onboarding compliance treasury payroll procurement logistics fulfilment returns reviews "
    "recommendations subscriptions taxation vendors partners support telemetry archive "
    "settlement customers orders"
).split()
COMPONENTS = (  # noqa: SIM905
    "api worker service frontend scheduler sync cache database queue portal gateway batch "
    "stream console webhook ingest indexer mailer admin proxy router monitor backup cron renderer"
).split()


@dataclass(frozen=True)
class Seeded:
    value: str
    kind: str
    suggestion: str  # what the check must suggest
    twin: str | None  # the clean value it collides with, if any


def _clean_pool() -> list[str]:
    plain = [f"{d}-{c}" for d in DOMAINS for c in COMPONENTS]
    numbered = [f"{d}-{c}-{n:02d}" for d in DOMAINS for c in COMPONENTS for n in range(1, 5)]
    return plain + numbered


def _typo(word: str, how: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == "substitute":
        return word[:i] + ("x" if word[i] != "x" else "z") + word[i + 1 :]
    if how == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # a doubled letter


def _defects(base: str, n: int, rng: random.Random) -> list[Seeded]:
    """Every kind of defect, each derived from a clean value (its twin) or standing alone."""
    domain = base.split("-")[0]
    out = [
        Seeded(base.upper(), "case", base, base),
        Seeded(base.replace("-", "_"), "separator _", base, base),
        Seeded(base.replace("-", " "), "separator space", base, base),
        Seeded(base.replace("-", "", 1), "separator none", base, base),
        Seeded(base.replace("-", "."), "separator .", base, base),
        Seeded(" " + base, "leading space", base, base),
        Seeded(base + " ", "trailing space", base, base),
        Seeded(base + "\u00a0", "no-break space", base, base),
        Seeded(base[:3] + "\u200b" + base[3:], "zero-width space", base, base),
        Seeded("\ufeff" + base, "BOM", base, base),
        Seeded(base.replace("a", "\u0430", 1), "Cyrillic a", base, base),
        Seeded(base.replace("-", "\u2013", 1), "en dash", base, base),
        Seeded(chr(ord(base[0]) - 0x61 + 0xFF41) + base[1:], "full-width letter", base, base),
    ]
    for how in ("swap", "substitute", "drop", "double"):
        typo = _typo(domain, how, rng)
        out.append(Seeded(base.replace(domain, typo, 1), f"typo ({how})", base, base))
    # No twin: out of the house style, or stray characters.
    alone = [f"{domain}-{base.split('-')[1]}-9{n}{k}" for k in range(3)]
    out.append(Seeded(alone[0].replace("-", "_"), "style: separator", alone[0], None))
    out.append(Seeded(alone[1].title(), "style: case", alone[1], None))
    out.append(Seeded(alone[2] + " ", "trailing space, no twin", alone[2], None))
    return out


def servicenow_export(rows: int = 5_000, seed: int = 20_240_601) -> tuple[list[str], list[Seeded]]:
    """The app_id column of a ServiceNow export: clean values with seeded defects, shuffled."""
    rng = random.Random(seed)
    pool = _clean_pool()
    rng.shuffle(pool)
    bases = [v for v in pool if "a" in v.split("-")[0] and "-0" in v][:6]
    seeded = [d for n, base in enumerate(bases) for d in _defects(base, n, rng)]
    clean = pool[: rows - len(seeded)]
    clean += [b for b in bases if b not in clean]
    clean = clean[: rows - len(seeded)]
    assert set(bases) <= set(clean)
    values = clean + [d.value for d in seeded]
    rng.shuffle(values)
    assert len(values) == len(set(values)) == rows
    return values, seeded


def _csv(values: list[str], rng: random.Random) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["sys_id", "app_id", "name", "business_unit", "owned_by", "status"])
    for value in values:
        name = value.replace("-", " ").title()
        writer.writerow(
            [
                f"{rng.getrandbits(128):032x}",
                value,
                name,
                rng.choice(["Retail", "Payments", "Data Platform", "Logistics"]),
                f"{rng.choice(['a.kowalski', 'b.nguyen', 'c.okafor'])}@acme-inc.com",
                rng.choice(["Operational", "Pipeline", "Retired"]),
            ]
        )
    return out.getvalue()


def test_every_seeded_defect_is_found_and_no_clean_value_is_flagged() -> None:
    values, seeded = servicenow_export()
    kinds = {d.kind for d in seeded}
    assert len(kinds) == 20 and len(seeded) == 120
    findings = hygiene.check(values, STYLE)
    flagged = {values[f.index]: f for f in findings}
    missed = [d for d in seeded if d.value not in flagged]
    assert missed == []
    wrongly = sorted(set(flagged) - {d.value for d in seeded})
    assert wrongly == []
    for d in seeded:
        f = flagged[d.value]
        assert f.suggestion == d.suggestion, d
        assert (values[f.other] if f.other is not None else None) == d.twin, d


def test_the_clean_part_of_the_export_has_no_finding() -> None:
    values, seeded = servicenow_export()
    bad = {d.value for d in seeded}
    assert hygiene.check([v for v in values if v not in bad], STYLE) == []


def test_100000_sequential_ids_have_no_finding() -> None:
    ids = [f"APP-{i:06d}" for i in range(1, 100_001)]
    assert hygiene.check(ids) == []
    assert hygiene.check(ids, Style("upper", "-")) == []
    assert hygiene.check([i.lower().replace("-", "_") for i in ids], Style("lower", "_")) == []


# --- the same through validate, with CSV lines --------------------------------------------------


def _run(*args: str, cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err, env={}, cwd=cwd)
    return code, out.getvalue(), err.getvalue()


def _export_dir(tmp_path: Path) -> tuple[Path, list[str], list[Seeded]]:
    values, seeded = servicenow_export()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "apps.csv").write_text(_csv(values, random.Random(1)), newline="")
    (tmp_path / "reconciler.yaml").write_text(
        'org: acme\napi: sandbox\nhygiene:\n  app_id: {case: lower, separator: "-"}\n'
    )
    (tmp_path / "apps.yaml").write_text(
        "kind: TaggingPolicy\nname: Application ID\ntags:\n  - key: app_id\n"
        "    valueType: LIST\n    allowedValuesFrom: {file: data/apps.csv, column: app_id}\n"
    )
    return tmp_path, values, seeded


def test_validate_locates_findings_at_their_csv_lines(tmp_path: Path) -> None:
    directory, values, seeded = _export_dir(tmp_path)
    code, out, err = _run("validate", ".", "--format", "json", cwd=directory)
    assert (code, err) == (0, "")
    report = json.loads(out)
    problems = [p for p in report["problems"] if (p["rule"] or "").startswith("hygiene/")]
    listed = [p for p in problems if p["suggestion"] is not None]
    assert report["valid"] and report["warnings"] == len(problems)
    for p in listed:
        assert p["file"] == "data/apps.csv" and p["field"] == "tags[app_id].allowedValuesFrom"
        assert p["message"].startswith("hygiene: ")
        value = values[p["line"] - 2]  # the header is line 1; no value spans two lines
        assert p["message"].startswith(f"hygiene: {json.dumps(value, ensure_ascii=False)}") or (
            "\\u" in p["message"]
        )
        assert p["suggestion"] == next(d.suggestion for d in seeded if d.value == value)
    # At most 20 per rule are listed; one line per rule counts the rest.
    per_rule = Counter(p["rule"] for p in listed)
    assert per_rule == {
        "hygiene/variant": 20,  # of 78 seeded
        "hygiene/near-duplicate": 20,  # of 24
        "hygiene/style": 12,
        "hygiene/characters": 6,
    }
    more = [p["message"] for p in problems if p["suggestion"] is None]
    assert more == [
        "hygiene: 58 more values are variants of other values (case, separators, spaces or "
        "look-alikes) (not listed; reconciler fix-values rewrites a values file)",
        "hygiene: 4 more values are one edit away from other values (not listed; "
        "reconciler fix-values rewrites a values file)",
    ]


def test_strict_makes_findings_errors(tmp_path: Path) -> None:
    directory, _, _ = _export_dir(tmp_path)
    code, out, _ = _run("validate", ".", "--strict", cwd=directory)
    assert code == 1 and out.splitlines()[-1] == "Invalid: 60 errors."
