"""Tag-value hygiene, rule by rule: literal lists in, findings out (reconciler.hygiene)."""

from __future__ import annotations

import random

import pytest

from reconciler.hygiene import lookalikes
from reconciler.hygiene import variants as hygiene
from reconciler.hygiene.variants import Finding, Style


def found(values: list[str], style: Style | None = None) -> list[tuple[str, str, str, str | None]]:
    """(rule, value to fix, suggestion, the value it collides with) per finding."""
    return [
        (f.rule, values[f.index], f.suggestion, None if f.other is None else values[f.other])
        for f in hygiene.check(values, style or Style())
    ]


# --- variants: equal once folded ------------------------------------------------------------


def test_case_variants() -> None:
    values = ["payments-api", "billing-worker", "Payments-API", "ledger-export"]
    assert found(values) == [("variant", "Payments-API", "payments-api", "payments-api")]
    assert hygiene.check(values)[0].issues == ("case",)


@pytest.mark.parametrize("variant", ["cost_center", "cost center", "costcenter", "cost.center"])
def test_separator_variants(variant: str) -> None:
    values = ["cost-center", "profit-center", variant]
    assert found(values) == [("variant", variant, "cost-center", "cost-center")]
    assert hygiene.check(values)[0].issues == ("separators",)


def test_every_separator_variant_of_one_value_names_the_canonical_one() -> None:
    values = ["cost-center", "cost_center", "cost center", "costcenter"]
    assert found(values) == [
        ("variant", "cost_center", "cost-center", "cost-center"),
        ("variant", "cost center", "cost-center", "cost-center"),
        ("variant", "costcenter", "cost-center", "cost-center"),
    ]


@pytest.mark.parametrize(
    ("variant", "issue"),
    [
        (" APP-00041", "white space"),
        ("APP-00041 ", "white space"),
        ("APP-00041\t", "white space"),
        ("APP-00041\u00a0", "white space"),  # no-break space
        ("APP\u200b-00041", "invisible characters"),  # zero-width space
        ("\ufeffAPP-00041", "invisible characters"),  # a BOM pasted from a spreadsheet
        ("APP\u2013" + "00041", "look-alike characters"),  # en dash
        ("APP\u2212" + "00041", "look-alike characters"),  # minus sign
        ("\u0410PP-00041", "look-alike characters"),  # Cyrillic capital A
        ("AP\u03a1-00041", "look-alike characters"),  # Greek capital rho
        ("\uff21\uff30\uff30-00041", "look-alike characters"),  # full-width APP
    ],
)
def test_invisible_and_look_alike_variants(variant: str, issue: str) -> None:
    values = ["APP-00041", "APP-00042", variant]
    assert found(values) == [("variant", variant, "APP-00041", "APP-00041")]
    assert hygiene.check(values)[0].issues == (issue,)


def test_doubled_spaces_are_variants() -> None:
    values = ["Payments Core", "Payments  Core"]
    assert found(values) == [("variant", "Payments  Core", "Payments Core", "Payments Core")]


def test_several_differences_are_all_named() -> None:
    values = ["payments-api", " Payments_API"]
    assert hygiene.check(values)[0].issues == ("white space", "case", "separators")


def test_values_whose_digit_runs_differ_are_not_variants() -> None:
    assert found(["app-1-23", "app-12-3", "APP_1_23"]) == [
        ("variant", "APP_1_23", "app-1-23", "app-1-23")
    ]


def test_the_canonical_form_follows_the_list_when_variants_disagree() -> None:
    # Most values are lower case with "-": of two variants, neither in that style, the
    # suggestion is the list's style, so both are flagged.
    values = ["payments-api", "billing-worker", "ledger-export", "Fraud_Check", "FRAUD CHECK"]
    assert found(values) == [
        ("variant", "Fraud_Check", "fraud-check", "FRAUD CHECK"),
        ("variant", "FRAUD CHECK", "fraud-check", "Fraud_Check"),
    ]


def test_a_clean_twin_is_preferred_over_one_with_stray_characters() -> None:
    values = ["APP-00041 ", "APP-00041"]
    assert found(values) == [("variant", "APP-00041 ", "APP-00041", "APP-00041")]


# --- near-duplicates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typo",
    [
        "paymnets-api",  # two letters swapped
        "paymemts-api",  # one substituted
        "paymets-api",  # one left out
        "paymentts-api",  # one doubled
    ],
)
def test_near_duplicates_one_edit_apart(typo: str) -> None:
    values = ["payments-api", "payments-worker", "payments-gateway", typo]
    assert found(values) == [("near-duplicate", typo, "payments-api", "payments-api")]


def test_the_rarer_spelling_is_the_typo_whatever_the_order() -> None:
    values = ["paymnets-api", "payments-api", "payments-worker", "payments-ledger"]
    assert found(values) == [("near-duplicate", "paymnets-api", "payments-api", "payments-api")]


def test_near_duplicates_across_case_and_separators() -> None:
    values = ["payments-api", "payments-worker", "Paymnets_API"]
    assert found(values) == [("near-duplicate", "Paymnets_API", "payments-api", "payments-api")]


def test_values_whose_digit_runs_differ_are_not_typos() -> None:
    assert found(["app-00041", "app-00042", "billing-worker-1", "billing-worker-2"]) == []
    assert found(["billing-worker-01", "bliling-worker-02"]) == []
    assert found(["billing-worker-01", "bliling-worker-01"]) == [
        ("near-duplicate", "bliling-worker-01", "billing-worker-01", "billing-worker-01")
    ]


def test_short_values_are_not_typos_of_each_other() -> None:
    assert found(["crm", "cms", "CRM-API", "CMS-API", "team-a", "team-b"]) == []


def test_two_edits_are_not_a_near_duplicate() -> None:
    assert found(["payments-api", "pamyents-apx"]) == []


def test_one_edit() -> None:
    assert hygiene.one_edit("payments", "paymnets")
    assert hygiene.one_edit("payments", "paymets")
    assert hygiene.one_edit("paymets", "payments")
    assert hygiene.one_edit("payments", "paymenta")
    assert hygiene.one_edit("payments", "apyments")
    assert not hygiene.one_edit("payments", "payments")
    assert not hygiene.one_edit("payments", "paynemts")
    assert not hygiene.one_edit("payments", "pay")


# --- single values: characters and house style -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "issue", "suggestion"),
    [
        (" ledger", "a leading space", "ledger"),
        ("ledger ", "a trailing space", "ledger"),
        ("ledger  export", "a doubled space", "ledger export"),
        ("ledger\u00a0export", "a no-break space U+00A0", "ledger export"),
        ("ledger\u200bexport", "an invisible zero width space U+200B", "ledgerexport"),
        ("l\u0435dger", 'the look-alike cyrillic small letter ie U+0435 for "e"', "ledger"),
        ("ledger\u2013export", 'the look-alike en dash U+2013 for "-"', "ledger-export"),
    ],
)
def test_stray_characters_without_a_twin(value: str, issue: str, suggestion: str) -> None:
    [f] = hygiene.check(["payments-api", value])
    assert (f.rule, f.index, f.suggestion, f.other) == ("characters", 1, suggestion, None)
    assert f.issues == (issue,)


def test_values_wholly_in_another_script_are_left_alone() -> None:
    assert found(["\u043f\u043b\u0430\u0442\u0435\u0436\u0438", "caf\u00e9", "\u00fcber-api"]) == []


def test_house_style_flags_values_without_a_twin() -> None:
    style = Style("upper", "-")
    values = ["APP-00041", "app-00042", "APP_00043", "APP 00044", "APP.00045"]
    assert found(values, style) == [
        ("style", "app-00042", "APP-00042", None),
        ("style", "APP_00043", "APP-00043", None),
        ("style", "APP 00044", "APP-00044", None),
        ("style", "APP.00045", "APP-00045", None),
    ]
    issues = [f.issues for f in hygiene.check(values, style)]
    assert issues[0] == ("lower-case letters (house style: upper case)",)
    assert issues[1] == ('separator "_" (house style: "-")',)
    assert issues[2] == ('separator space (house style: "-")',)


def test_house_style_decides_the_canonical_form_of_variants() -> None:
    values = ["payments-api", "PAYMENTS-API"]
    assert found(values, Style("upper")) == [
        ("variant", "payments-api", "PAYMENTS-API", "PAYMENTS-API")
    ]


def test_a_value_in_style_with_stray_characters_gets_one_finding() -> None:
    [f] = hygiene.check(["app-00041 "], Style("upper", "-"))
    assert f.rule == "characters"
    assert f.issues == ("a trailing space", "lower-case letters (house style: upper case)")
    assert f.suggestion == "APP-00041"


# --- intentional pairs -----------------------------------------------------------------------


def test_declared_pairs_are_not_reported() -> None:
    values = ["auth-service", "oauth-service", "Auth-Service", "payments-api"]
    distinct = hygiene.pairs([["auth-service", "oauth-service"], ["auth-service", "Auth-Service"]])
    assert found(values, Style(distinct=distinct)) == []
    assert [f[1] for f in found(values)] == ["oauth-service", "Auth-Service"]


def test_styles_from_the_config() -> None:
    config = {
        "app_id": {"case": "upper", "separator": "-"},
        "team": {"distinct": [["auth-service", "oauth-service", "authz-service"]]},
    }
    styles = hygiene.styles(config)
    assert styles["app_id"] == Style("upper", "-")
    assert len(styles["team"].distinct) == 3
    assert frozenset(("oauth-service", "authz-service")) in styles["team"].distinct


# --- no false alarms -------------------------------------------------------------------------


def test_clean_lists_have_no_findings() -> None:
    assert hygiene.check([]) == []
    assert hygiene.check(["a"]) == []
    assert hygiene.check([f"APP-{i:05d}" for i in range(1, 2000)], Style("upper", "-")) == []
    assert hygiene.check(["dev", "staging", "prod", "production-eu", "production-us"]) == []


# --- messages ----------------------------------------------------------------------------------


def test_messages_name_both_values_their_lines_and_the_suggestion() -> None:
    values = ["payments-api", "Payments_API", "paymnets-api", "ledger ", "p\u0430yments-web"]

    def where(i: int) -> str:
        return f"line {i + 2}"

    messages = [hygiene.message(f, values, where) for f in hygiene.check(values)]
    assert messages == [
        '"Payments_API" (line 3) and "payments-api" (line 2) differ only in case and '
        'separators; suggested: "payments-api"',
        '"paymnets-api" (line 4) is one edit away from "payments-api" (line 2), probably a '
        'typo; suggested: "payments-api"',
        '"ledger " (line 5) has a trailing space; suggested: "ledger"',
        '"p\\u0430yments-web" (line 6) has the look-alike cyrillic small letter a U+0430 for '
        '"a"; suggested: "payments-web"',
    ]


def test_show_escapes_what_a_reader_cannot_see() -> None:
    assert lookalikes.show("a\u200bb") == '"a\\u200bb"'
    assert lookalikes.show("a\u00a0b") == '"a\\u00a0b"'
    assert lookalikes.show('say "hi"') == '"say \\"hi\\""'
    assert lookalikes.show("caf\u00e9") == '"caf\u00e9"'
    assert lookalikes.show("\u043f\u043b\u0430\u0442\u0435\u0436") == (
        '"\u043f\u043b\u0430\u0442\u0435\u0436"'  # another script, shown as written
    )


def test_finding_is_frozen_data() -> None:
    f = Finding("variant", 1, "x", 0, ("case",))
    with pytest.raises(AttributeError):
        f.index = 2  # type: ignore[misc]


def test_many_typos_at_once() -> None:
    # More near-duplicate words than a regex alternation holds well: every word is scanned.
    rng = random.Random(5)
    words = sorted(
        {"".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(8)) for _ in range(300)}
    )
    typos = [f"{w[:2]}{w[3]}{w[2]}{w[4:]}-service" for w in words if w[2] != w[3]]
    values = [f"{w}-service" for w in words] + typos
    values += [f"{w}-worker" for w in words]  # the right spelling is the more common one
    assert len(typos) > 250
    assert [f[:2] for f in found(values)] == [("near-duplicate", t) for t in typos]


def test_case_is_named_only_when_it_differs() -> None:
    assert hygiene.differences("APP_00999", "APP-00999") == ("separators",)
    assert hygiene.differences("Pay-API", "pay_api") == ("case", "separators")
