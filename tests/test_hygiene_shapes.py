"""Shape findings: the ID typos that have no twin (``hygiene/shape``).

A literal corpus of five ID families, each with planted typos of every class that applies to it,
and clean lists (sequential, random, mixed legitimate families, names) that must give nothing.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.hygiene import variants as hygiene
from reconciler.hygiene.shapes import Settings as ShapeSettings
from reconciler.hygiene.variants import Style
from tests.helpers.cli import run
from tests.helpers.examples import copy_examples
from tests.helpers.sandbox import SandboxOrg

# (typo, suggestion) per family; no typo has a twin in its list (the clean values use other
# numbers), so no other rule can see it.
APP = [
    ("APP-O0042", "APP-00042"),  # a letter for a digit: O/0
    ("APP-0I043", "APP-01043"),  # I/1
    ("APP-0l044", "APP-01044"),  # l/1
    ("APP-0S045", "APP-05045"),  # S/5
    ("APP-0B046", "APP-08046"),  # B/8
    ("APP-0Z047", "APP-02047"),  # Z/2
    ("APP-0048", "APP-00048"),  # a digit too few
    ("APP-000049", "APP-00049"),  # a digit too many
    ("APPP-00050", "APP-00050"),  # a doubled letter in the prefix
    ("AP-00051", "APP-00051"),  # a dropped letter
    ("PAP-00052", "APP-00052"),  # swapped letters
    ("APQ-00053", "APP-00053"),  # a changed letter
    ("APP00054", "APP-00054"),  # a missing separator
    ("APP--00055", "APP-00055"),  # an extra separator
    ("APP_00056", "APP-00056"),  # another separator
    ("app-00057", "APP-00057"),  # the other case
    ("APP-00058x", "APP-00058"),  # a stray trailing character
    ("APP-00059.", "APP-00059"),
]
CI = [
    ("CIO012345", "CI0012345"),
    ("CI00l2346", "CI0012346"),
    ("C10012347", "CI0012347"),  # a digit for a letter of the prefix
    ("CI001348", "CI0001348"),
    ("CI00012349", "CI0012349"),
    ("CII0012350", "CI0012350"),
    ("C0012351", "CI0012351"),
    ("IC0012352", "CI0012352"),
    ("CJ0012353", "CI0012353"),
    ("CI-0012354", "CI0012354"),
    ("ci0012355", "CI0012355"),
    ("CI0012356#", "CI0012356"),
]
SVC = [
    ("svc-billing-O43", "svc-billing-043"),
    ("svc-ledger-44", "svc-ledger-044"),
    ("svc-audit-0045", "svc-audit-045"),
    ("svcc-payments-046", "svc-payments-046"),
    ("sv-payments-047", "svc-payments-047"),
    ("scv-payments-048", "svc-payments-048"),
    ("svd-payments-049", "svc-payments-049"),
    ("svc-payments050", "svc-payments-050"),
    ("svc-payments--051", "svc-payments-051"),
    ("svc_payments-052", "svc-payments-052"),
    ("svc-Payments-053", "svc-payments-053"),
    ("svc-payments-054_", "svc-payments-054"),
]
BA = [
    ("BA-FIN-O100", "BA-FIN-0100"),
    ("BA-HR-01Z1", "BA-HR-0121"),
    ("BA-FIN-102", "BA-FIN-0102"),
    ("BA-FIN-00103", "BA-FIN-0103"),
    ("BAA-FIN-0104", "BA-FIN-0104"),
    ("B-FIN-0105", "BA-FIN-0105"),
    ("AB-FIN-0106", "BA-FIN-0106"),
    ("BA-FIM-0107", "BA-FIN-0107"),
    ("BA-FlN-0108", "BA-FIN-0108"),
    ("BA-F1N-0109", "BA-FIN-0109"),
    ("BAFIN-0110", "BA-FIN-0110"),
    ("BA-FIN0111", "BA-FIN-0111"),
    ("BA--FIN-0112", "BA-FIN-0112"),
    ("BA_FIN-0113", "BA-FIN-0113"),
    ("ba-fin-0114", "BA-FIN-0114"),
    ("BA-FIN-0115/", "BA-FIN-0115"),
]
APM = [
    ("APMO001100", "APM0001100"),
    ("APM00011S1", "APM0001151"),
    ("APM00011B2", "APM0001182"),
    ("APM00011I3", "APM0001113"),
    ("APM001104", "APM0001104"),
    ("APM00001105", "APM0001105"),
    ("APMM0001106", "APM0001106"),
    ("AM0001107", "APM0001107"),
    ("PAM0001108", "APM0001108"),
    ("APN0001109", "APM0001109"),
    ("APM-0001110", "APM0001110"),
    ("apm0001111", "APM0001111"),
    ("APM0001112x", "APM0001112"),
]
WORDS = "payments billing ledger audit treasury catalog search pricing loyalty".split()  # noqa: SIM905
CLEAN = {
    "APP": [f"APP-{n:05d}" for n in range(20_000, 20_300)],
    "CI": [f"CI{n:07d}" for n in range(20_000, 20_300)],
    "SVC": [f"svc-{w}-{n:03d}" for w in WORDS for n in range(30)],
    "BA": [f"BA-{unit}-{n:04d}" for unit in ("FIN", "HR", "OPS", "IT") for n in range(75)],
    "APM": [f"APM{n:07d}" for n in range(5_000, 5_300)],
}
CORPUS = {"APP": APP, "CI": CI, "SVC": SVC, "BA": BA, "APM": APM}


def planted(family: str, seed: int = 1) -> tuple[list[str], dict[int, str]]:
    """The clean list with the typos spread through it: (values, index -> suggestion)."""
    values = list(CLEAN[family])
    rng = random.Random(seed)
    for typo, _ in CORPUS[family]:
        values.insert(rng.randrange(len(values) + 1), typo)
    expected = dict(CORPUS[family])
    return values, {i: expected[v] for i, v in enumerate(values) if v in expected}


def found(values: list[str], style: Style | None = None) -> dict[int, str]:
    return {f.index: f.suggestion for f in hygiene.check(values, style or Style())}


@pytest.mark.parametrize("family", CORPUS)
def test_every_planted_typo_is_found_with_its_suggestion(family: str) -> None:
    values, expected = planted(family)
    findings = hygiene.check(values)
    assert {f.index: f.suggestion for f in findings} == expected
    assert {f.rule for f in findings} == {"shape"}


def test_the_message_names_the_step_and_the_family() -> None:
    values, _ = planted("APP")
    by_value = {values[f.index]: f for f in hygiene.check(values)}
    messages = {
        v: hygiene.message(f, values, lambda i: f"line {i + 1}") for v, f in by_value.items()
    }
    line = values.index("APP-O0042") + 1
    assert messages["APP-O0042"] == (
        f'"APP-O0042" (line {line}) has the letter "O" where a digit belongs, probably a typo '
        '(like 300 other values: APP-00000); suggested: "APP-00042"'
    )
    assert 'a doubled letter ("APPP" for "APP")' in messages["APPP-00050"]
    assert 'a dropped letter ("AP" for "APP")' in messages["AP-00051"]
    assert 'swapped letters ("PAP" for "APP")' in messages["PAP-00052"]
    assert 'a changed letter ("APQ" for "APP")' in messages["APQ-00053"]
    assert 'a missing "-"' in messages["APP00054"]
    assert 'an extra "-"' in messages["APP--00055"]
    assert '"_" where "-" belongs' in messages["APP_00056"]
    assert "lower-case letters" in messages["app-00057"]
    assert 'a stray "x" at the end' in messages["APP-00058x"]
    assert "a digit too few" in messages["APP-0048"]
    assert "a digit too many" in messages["APP-000049"]


def test_a_mixed_list_names_the_family_of_each_typo() -> None:
    values = CLEAN["APP"] + CLEAN["CI"] + ["CIO012345", "APP-O0042"]
    findings = hygiene.check(values)
    assert [(f.suggestion, f.like) for f in findings] == [
        ("CI0012345", (300, "CI0000000")),
        ("APP-00042", (300, "APP-00000")),
    ]


def test_the_variant_rules_come_first() -> None:
    """A value with a twin is a variant, not a shape finding; nothing is reported twice."""
    values = [*CLEAN["APP"], "APP_20001", "APP-20302 "]
    assert [(f.rule, values[f.index]) for f in hygiene.check(values)] == [
        ("variant", "APP_20001"),
        ("characters", "APP-20302 "),
    ]


# --- clean lists -----------------------------------------------------------------------------

NAMES = [
    "payments",
    "Billing Team",
    "data-platform",
    "sre",
    "team-42",
    "Platform 2.0",
    "growth",
    "Search & Discovery",
    "mobile-ios",
    "mobile-android",
    "finops",
    "security_ops",
    "ML Research",
    "checkout-v2",
    "web",
    "api-gateway",
    "identity",
    "Core Banking",
    "ledger",
    "warehouse-3",
]


def _random_ids(seed: int) -> list[str]:
    rng = random.Random(seed)
    app = {f"APP-{rng.randrange(100_000):05d}" for _ in range(400)}
    ci = {f"CI{rng.randrange(10_000_000):07d}" for _ in range(400)}
    return sorted(app) + sorted(ci)


CLEAN_LISTS = {
    "sequential, padded": [f"APP-{n:05d}" for n in range(1, 2_001)],
    "sequential, not padded": [f"APP-{n}" for n in range(1, 2_001)],
    "sequential, short": [f"APP-{n}" for n in range(1, 102)],
    # a lone 0 is the number zero, not a padded run: A-10 is no "digit too many" (hypothesis)
    "from zero, not padded": ["A-0", "A-1", "A-2", "A-10", "A-100", "A-101", "A-102"],
    "random": _random_ids(3),
    "mixed legitimate families": [
        *(f"APP-{n:05d}" for n in range(300, 600)),
        *(f"CI{n:07d}" for n in range(200)),
        *(f"svc-{w}-{n:03d}" for w in WORDS[:4] for n in range(30)),
        *(f"LEG_{n:04d}" for n in range(30)),  # a legacy family
        *(f"APP-{n:04d}" for n in range(40)),  # legacy 4-digit IDs: a family of their own
        *(f"APM{n:07d}" for n in range(20)),
    ],
    "names": NAMES,
    "names with digits": [*NAMES, *(f"squad-{n}" for n in range(1, 12)), "team-7", "team-100"],
    "every family": [v for family in CLEAN.values() for v in family],
}


@pytest.mark.parametrize("name", CLEAN_LISTS)
def test_clean_lists_have_no_finding(name: str) -> None:
    assert found(CLEAN_LISTS[name]) == {}


def test_a_small_minority_one_step_off_is_flagged_until_declared_a_family() -> None:
    values = [f"APP-{n:05d}" for n in range(1000, 3000)] + ["APP-0001", "APP-0002"]
    assert found(values) == {2000: "APP-00001", 2001: "APP-00002"}
    declared = Style(shapes=ShapeSettings(families=("APP-0000",)))
    assert found(values, declared) == {}
    assert found(values, Style(shapes=ShapeSettings(check=False))) == {}
    assert found(values, Style(shapes=ShapeSettings(least=2))) == {}


def test_a_declared_family_is_compared_with_even_when_few_hold_it() -> None:
    values = [*NAMES, "INC0001234", "INC0001235", "INCO001236"]
    assert found(values) == {}
    declared = Style(shapes=ShapeSettings(families=("INC0000000",)))
    assert found(values, declared) == {len(values) - 1: "INC0001236"}


# --- property: a list drawn from one clean family has no shape finding ------------------------

_PREFIX = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=4)


@st.composite
def one_family(draw: st.DrawFn) -> list[str]:
    prefix = draw(st.one_of(_PREFIX, _PREFIX.map(str.lower)))
    separator = draw(st.sampled_from(["-", "_", ".", ""]))
    width = draw(st.integers(3, 8))
    padded = draw(st.booleans())
    numbers = draw(st.sets(st.integers(0, 10**width - 1), min_size=1, max_size=300))
    suffix = draw(st.sampled_from(["", "-eu", "-prod"]))
    form = f"{{:0{width}d}}" if padded else "{}"
    return [f"{prefix}{separator}{form.format(n)}{suffix}" for n in sorted(numbers)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(one_family(), st.randoms(use_true_random=False))
def test_a_list_drawn_from_one_family_has_no_shape_finding(
    values: list[str], rng: random.Random
) -> None:
    rng.shuffle(values)
    assert [f for f in hygiene.check(values) if f.rule == "shape"] == []


# --- located, in validate ----------------------------------------------------------------------

POLICY = """\
kind: TaggingPolicy
name: Apps
tags:
  - key: app_id
    valueType: LIST
    allowedValuesFrom: {file: ../data/apps.csv, column: app_id}
  - key: service
    valueType: LIST
    allowedValues:
      - svc-billing-000
      - svc-billing-001
      - svc-billing-002
      - svc-billing-O03
      - svc-billing-004
"""


def test_validate_reports_each_typo_at_its_csv_row_and_yaml_line(tmp_path: Path) -> None:
    values, expected = planted("APP")
    rows = "".join(f"{i},{v},Application {i}\n" for i, v in enumerate(values))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "apps.csv").write_text("sys_id,app_id,name\n" + rows)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "apps.yaml").write_text(POLICY)
    code, out, _ = run("validate", ".", "--format", "json", cwd=tmp_path)
    assert code == 0
    problems = [p for p in json.loads(out)["problems"] if p["rule"] == "hygiene/shape"]
    assert {(p["file"], p["line"], p["suggestion"]) for p in problems} == {
        ("data/apps.csv", i + 2, suggestion) for i, suggestion in expected.items()
    } | {("policies/apps.yaml", 13, "svc-billing-003")}
    assert {p["severity"] for p in problems} == {"warning"}
    assert all(p["message"].startswith("hygiene: ") for p in problems)


def _apps_directory(tmp_path: Path, config: str) -> Path:
    values, _ = planted("APP")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "apps.csv").write_text("app_id\n" + "".join(v + "\n" for v in values))
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "apps.yaml").write_text(POLICY)
    (tmp_path / "reconciler.yaml").write_text(config)
    return tmp_path


def test_settings_in_reconciler_yaml(tmp_path: Path) -> None:
    config = "hygiene:\n  app_id:\n    shapes: {families: [APP-0000, app-00000], minFamily: 3}\n"
    code, out, _ = run("validate", ".", "--format", "json", cwd=_apps_directory(tmp_path, config))
    assert code == 0
    flagged = {p["suggestion"] for p in json.loads(out)["problems"] if p["file"] == "data/apps.csv"}
    assert "APP-00048" not in flagged and "APP-00057" not in flagged  # declared families
    assert "APP-00042" in flagged


def test_shapes_off_for_one_key(tmp_path: Path) -> None:
    config = "hygiene:\n  app_id: {shapes: {check: false}}\n"
    code, out, _ = run("validate", ".", "--format", "json", cwd=_apps_directory(tmp_path, config))
    assert code == 0
    rules = [(p["file"], p["rule"]) for p in json.loads(out)["problems"]]
    assert rules == [("policies/apps.yaml", "hygiene/shape")]  # the service key still has it


def test_a_bad_setting_is_an_error_at_its_line(tmp_path: Path) -> None:
    config = "hygiene:\n  app_id:\n    shapes: {minFamily: 1}\n"
    code, out, _ = run("validate", ".", cwd=_apps_directory(tmp_path, config))
    assert code == 1
    assert "reconciler.yaml:3:25: hygiene.app_id.shapes.minFamily: must be 2 or more" in out


# --- the trial of the issue, plans, and the docs -----------------------------------------------


def test_twenty_typos_in_twenty_thousand_ids_are_all_found() -> None:
    typos = {
        "APP-O1700": "APP-01700",
        "APP-1800": "APP-01800",
        "APPP-02100": "APP-02100",
        "APP-I2200": "APP-12200",
        "AP-02300": "APP-02300",
        "PAP-02400": "APP-02400",
        "APQ-02500": "APP-02500",
        "APP02600": "APP-02600",
        "APP--02700": "APP-02700",
        "APP_02800": "APP-02800",
        "app-02900": "APP-02900",
        "APP-03000x": "APP-03000",
        "APP-003100": "APP-03100",
        "APP-0S320": "APP-05320",
        "APP-0B330": "APP-08330",
        "APP-0Z340": "APP-02340",
        "APP-0l350": "APP-01350",
        "APP.03600": "APP-03600",
        "APPA-03700": "APP-03700",
        "APP-0380": "APP-00380",
    }
    clean = [f"APP-{n:05d}" for n in range(20_000) if f"APP-{n:05d}" not in typos.values()]
    values = clean + list(typos)
    assert {values[i]: s for i, s in found(values).items()} == typos


def _planted_examples(root: Path) -> Path:
    """examples/ with three typos planted in its ServiceNow export (the docs' run)."""
    examples = copy_examples(root / "examples")
    csv_file = examples / "data" / "servicenow-apps.csv"
    lines = csv_file.read_text().splitlines(keepends=True)
    for number, (old, new) in {4: ("APP-00047", "APP-O0047"), 5: ("APP-00057", "APP-0057")}.items():
        lines[number - 1] = lines[number - 1].replace(old, new)
    lines[41] = lines[41].replace(",APP-00722,", ",APPP-00722,")
    csv_file.write_text("".join(lines))
    return root


def test_the_docs_show_real_output(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    docs = (root / "docs" / "format.md").read_text()
    readme = (root / "README.md").read_text()
    work = _planted_examples(tmp_path)
    code, out, _ = run("validate", "examples", cwd=work)
    assert code == 0 and out.count("probably a typo") == 3
    assert f"$ reconciler validate examples\n{out}```" in docs
    assert f"$ reconciler validate examples\n{out}```" in readme
    args = ("fix-values", "examples/data/servicenow-apps.csv", "--column", "app_id")
    _, out, _ = run(*args, cwd=work)
    assert f"$ reconciler {' '.join(args[:4])}\n{out}```" in docs


def test_a_plan_shows_the_shape_typos_it_adds_first(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    flags = ["--api", sandbox_org.base_url, "--org", sandbox_org.org]
    env = {"INFRACOST_SERVICE_TOKEN": sandbox_org.token}
    work = _apps_directory(tmp_path, "org: acme\n")
    apps = work / "data" / "apps.csv"
    apps.write_text("app_id\n" + "".join(f"{v}\n" for v in CLEAN["APP"]))
    (work / "policies" / "apps.yaml").write_text(
        POLICY.replace("svc-billing-O03", "svc-billing-003")
    )
    code, _, err = run("apply", ".", *flags, "--auto-approve", cwd=work, env=env)
    assert code == 0, err
    with apps.open("a") as fh:
        fh.write("APP-O0042\n")
    code, out, _ = run("plan", ".", *flags, "--format", "json", cwd=work, env=env)
    assert code == 0
    assert json.loads(out)["hygiene"] == [
        'data/apps.csv:302: TaggingPolicy "Apps": tags[app_id].allowedValuesFrom: "APP-O0042" '
        '(line 302) has the letter "O" where a digit belongs, probably a typo (like 300 other '
        'values: APP-00000); suggested: "APP-00042"'
    ]
    code, _, err = run("apply", ".", *flags, "--auto-approve", cwd=work, env=env)
    assert code == 0, err
    code, out, _ = run("plan", ".", *flags, "--detailed-exitcode", cwd=work, env=env)
    assert code == 0 and "No changes." in out
