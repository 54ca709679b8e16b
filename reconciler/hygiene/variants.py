"""Tag-value hygiene: values of one list that are probably the same value written differently.

Pure functions over lists of strings; ``hygiene_report`` turns findings into located problems.

- **Variants**: values that become equal once white space and invisible characters, look-alike
  characters (``lookalikes``), letter case and separators (``-``, ``_``, ``.``, space, or none)
  are folded away: ``Payments-API``, ``payments_api``, ``payments api``, ``paymentsapi``. Values
  whose digit runs differ are never variants (``app-1-23`` and ``app-12-3``).
- **Near-duplicates**: values one edit apart in their letters (a substitution, an insertion, a
  deletion or two swapped neighbours: ``paymnets-api`` and ``payments-api``), with the same digit
  runs (``app-00041`` and ``app-00042`` are distinct) and at least ``MIN_LETTERS`` letters.
  Never by comparing all pairs: a typo changes one word, so near-duplicate words are found in
  the list's (small) vocabulary through a deletion index, and only values holding such a word
  are looked at (``_near_duplicates``).
- **Characters**: a value with leading, trailing or doubled spaces, invisible characters or
  look-alikes is flagged even without a twin.
- **House style** (``reconciler.yaml`` ``hygiene:``): a value in the wrong case, or with another
  separator than the allowed one, is flagged even without a twin.
- **Shape** (``shapes``): a value one small step from the shape of the list's ID families
  (``APP-O1700`` among ``APP-00000``), even without a twin; only values no other rule flags.

Pairs declared in ``distinct`` are never reported as variants or near-duplicates of each other.
Every finding names the value to fix, the value it collides with, and a suggested canonical form.

Bounded: a variant group is checked in time linear in its size (never pair by pair), and a group
with more than ``GROUP_LISTED`` values to fix is one finding that counts the others (``more``),
so that 60,000 spellings of one value make one finding, not 60,000.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.hygiene import lookalikes, shapes
from reconciler.hygiene.shapes import Settings as ShapeSettings

SEPARATORS = "-_. "
MIN_LETTERS = 6  # near-duplicates of shorter values are too often deliberate (CRM vs CMS)
GROUP_LISTED = 20  # values of one variant group found one by one; a larger group is one finding
Rule = Literal["variant", "near-duplicate", "characters", "style", "shape"]

_DROP_SEPARATORS = str.maketrans("", "", SEPARATORS)
_DROP_DIGITS = str.maketrans("", "", "0123456789")
_DIGIT_RUNS = re.compile(r"[0-9]+")
_SEPARATOR_RUNS = re.compile(r"[-_. ]+")
_WORDS = re.compile(r"[^\W\d_]+")
_FEW_WORDS = 200  # a regex alternation of more words gets slow
_LONG = re.compile(f"[^\n]{{{MIN_LETTERS},}}")
_LONG_LIST = (
    1000  # values: below, each value's folded form costs less than telling it is not needed
)


@dataclass(frozen=True)
class Style:
    """The house style of one tag key, and the pairs declared intentionally distinct."""

    case: Literal["lower", "upper", "any"] = "any"
    separator: str = "any"  # "-", "_", "." or "any"
    distinct: frozenset[frozenset[str]] = frozenset()
    shapes: ShapeSettings = field(default_factory=ShapeSettings)

    def violations(self, value: str) -> list[str]:
        """How a value breaks this style, in words; empty when it does not."""
        out = []
        if self.case == "upper" and value != value.upper():
            out.append("lower-case letters (house style: upper case)")
        elif self.case == "lower" and value != value.lower():
            out.append("upper-case letters (house style: lower case)")
        if self.separator != "any":
            others = [s for s in SEPARATORS if s != self.separator and s in value]
            if others:
                shown = ", ".join("space" if s == " " else f'"{s}"' for s in others)
                out.append(f'separator {shown} (house style: "{self.separator}")')
        return out

    def breaks(self, value: str) -> bool:
        if self.case == "upper" and value != value.upper():
            return True
        if self.case == "lower" and value != value.lower():
            return True
        if self.separator != "any":
            return any(s in value for s in SEPARATORS if s != self.separator)
        return False

    def apply(self, value: str) -> str:
        if self.case == "upper":
            value = value.upper()
        elif self.case == "lower":
            value = value.lower()
        if self.separator != "any":
            value = _SEPARATOR_RUNS.sub(self.separator, value)
        return value


def pairs(groups: Iterable[Sequence[str]]) -> frozenset[frozenset[str]]:
    """Every pair within each declared group of intentionally distinct values."""
    out: set[frozenset[str]] = set()
    for group in groups:
        out.update(frozenset((a, b)) for i, a in enumerate(group) for b in group[i + 1 :] if a != b)
    return frozenset(out)


def styles(config: Mapping[str, Any]) -> dict[str, Style]:
    """``hygiene:`` of reconciler.yaml (already checked by its schema) -> Style per tag key."""
    out = {}
    for key, settings in config.items():
        if isinstance(settings, Mapping):
            out[key] = Style(
                case=settings.get("case", "any"),
                separator=settings.get("separator", "any"),
                distinct=pairs(settings.get("distinct", ())),
                shapes=shapes.settings(settings.get("shapes")),
            )
    return out


@dataclass(frozen=True)
class Finding:
    """One value to fix: ``index`` into the list, ``other`` the index of its twin, if any."""

    rule: Rule
    index: int
    suggestion: str
    other: int | None = None
    issues: tuple[str, ...] = ()  # in words: "case", "a trailing space", ...
    # A variant group too large to list: the other values this finding stands for, each to be
    # rewritten to the same suggestion (the message counts them).
    more: tuple[int, ...] = ()
    # A shape finding: how many values have the shape the value is one step from, and that
    # shape as a reader recognizes it ("APP-00000").
    like: tuple[int, str] | None = None


# --- folding ---------------------------------------------------------------------------------


def fold(value: str) -> str:
    """The form in which variants become equal: visible, Latin, case-folded, no separators."""
    return lookalikes.latin(lookalikes.visible(value)).casefold().translate(_DROP_SEPARATORS)


def _odd(values: Sequence[str]) -> tuple[list[int], str]:
    """The values that are not plain ASCII (``lookalikes.is_plain``), and the joined values:
    checked on the joined text first, since most lists have none."""
    joined = "\n".join(values)
    if (
        joined.isascii()
        and joined.count("\n") == len(values) - 1
        and (" " not in joined or not any(s in joined for s in ("  ", " \n", "\n ")))
        and joined[:1] != " "
        and joined[-1:] != " "
        and joined.replace("\n", "").isprintable()
    ):
        return [], joined
    return [i for i, v in enumerate(values) if not lookalikes.is_plain(v)], joined


def _normal_text(values: Sequence[str], odd: list[int], joined: str) -> str:
    """Every value visible, Latin and case-folded, one per line: plain values (nearly all) in
    one pass over the joined text. Normalized values hold no line break."""
    if not odd:
        return joined.lower()
    plain = list(values)
    for i in odd:
        plain[i] = ""  # may hold line breaks
    normal = "\n".join(plain).lower().split("\n")
    for i in odd:
        normal[i] = lookalikes.latin(lookalikes.visible(values[i])).casefold()
    return "\n".join(normal)


def _digit_runs(value: str) -> tuple[str, ...]:
    return tuple(_DIGIT_RUNS.findall(lookalikes.latin(value)))


_STAGES = (
    ("invisible characters", lambda v: "".join(c for c in v if not lookalikes.is_invisible(c))),
    ("white space", lambda v: " ".join(v.split())),
    ("look-alike characters", lookalikes.latin),
    ("case", str.casefold),
    ("separators", lambda v: v.translate(_DROP_SEPARATORS)),
)


_PLAIN_START = 3  # the index of "case" in _STAGES


def differences(a: str, b: str) -> tuple[str, ...]:
    """How two variants differ, in words: ("case", "separators").

    Case is named only when the values collide only once case is folded: "APP_1" and "APP-1"
    differ in separators, not in case, although folding case changes both.
    """
    # Plain values (printable ASCII, single inner spaces): the first three stages change nothing.
    start = _PLAIN_START if lookalikes.is_plain(a) and lookalikes.is_plain(b) else 0
    case_needed = _fold(a, skip="case", start=start) != _fold(b, skip="case", start=start)
    out = []
    for name, step in _STAGES[start:]:
        a2, b2 = step(a), step(b)
        if a != b and (a2 != a or b2 != b) and (name != "case" or case_needed):
            out.append(name)
        a, b = a2, b2
    return tuple(out)


def _fold(value: str, *, skip: str, start: int = 0) -> str:
    for name, step in _STAGES[start:]:
        if name != skip:
            value = step(value)
    return value


# --- the check -------------------------------------------------------------------------------


@dataclass
class _List:
    """One list under check, with what is computed only when a finding needs it."""

    values: Sequence[str]
    style: Style
    text: str  # the values visible, Latin, case-folded, one per line
    _normal: list[str] | None = None
    groups: dict[str, list[int]] = field(default_factory=dict)  # folded form -> its variants
    _effective: Style | None = None
    _words: Counter[str] | None = None
    variants: set[int] = field(default_factory=set)  # values a variant finding covers

    _distinct_from: dict[str, set[str]] | None = None

    def declared_distinct(self, a: int, b: int) -> bool:
        return frozenset((self.values[a], self.values[b])) in self.style.distinct

    @property
    def distinct_from(self) -> dict[str, set[str]]:
        """Value -> the values declared distinct from it (the few that ``distinct`` names)."""
        if self._distinct_from is None:
            index: dict[str, set[str]] = defaultdict(set)
            for pair in self.style.distinct:
                for value in pair:
                    index[value].update(pair - {value})
            self._distinct_from = dict(index)
        return self._distinct_from

    @property
    def effective(self) -> Style:
        """The declared style, completed by what most values of the list do."""
        if self._effective is None:
            self._effective = _infer(self.values, self.style)
        return self._effective

    @property
    def normal(self) -> list[str]:
        """Each value visible, Latin, case-folded."""
        if self._normal is None:
            self._normal = self.text.split("\n")
        return self._normal

    @property
    def words(self) -> Counter[str]:
        """How often each word occurs in the list (one pass over the joined values)."""
        if self._words is None:
            self._words = Counter(_WORDS.findall(self.text))
        return self._words

    def commonness(self, i: int) -> int:
        return sum(self.words[w] for w in _WORDS.findall(self.normal[i]))


def _infer(values: Sequence[str], declared: Style) -> Style:
    """What most values do, where the declared style says "any" (C-level counting)."""
    case = declared.case
    if case == "any":
        upper = sum(map(str.isupper, values))
        lower = sum(map(str.islower, values))
        if max(upper, lower) > len(values) - upper - lower:
            case = "upper" if upper > lower else "lower"
    separator = declared.separator
    if separator == "any":
        counts = {s: sum(map(operator.contains, values, itertools.repeat(s))) for s in "-_."}
        best = max(counts, key=counts.__getitem__)
        if counts[best]:
            separator = best
    return Style(case, separator, declared.distinct, declared.shapes)


def canonical(value: str, style: Style = Style()) -> str:
    """The suggested form of one value: visible, Latin, in the house style."""
    return style.apply(lookalikes.latin(lookalikes.visible(value)))


def check(values: Sequence[str], style: Style = Style()) -> list[Finding]:
    """Every finding for one list of distinct values, in list order."""
    odd, joined = _odd(values)
    lst = _List(values, style, _normal_text(values, odd, joined))
    # a long list's character classes tell whether two values can fold together at all
    classes = None if odd or len(values) < _LONG_LIST else shapes.character_classes(joined)
    folded = lst.text.translate(_DROP_SEPARATORS)
    # fold() of each value: a million strings for a million values, so only made when two
    # values may share one
    keys = None if classes is not None and _fold_apart(classes) else folded.split("\n")
    findings = [] if keys is None else _variants(lst, keys)
    findings += _near_duplicates(lst, keys, folded)
    del keys, folded  # before the shapes' passes: the peak memory of a long list
    findings += _singles(lst, odd, joined)
    skip = {f.index for f in findings} | lst.variants | set(odd)
    findings += _shapes(lst, joined, skip, classes)
    findings.sort(key=lambda f: (f.index, f.rule))
    return findings


def _fold_apart(classes: list[str]) -> bool:
    """Whether no two of these plain (printable ASCII) values can fold to one form, from their
    character classes (``shapes.character_classes``) alone: folding lowers the letters and
    drops the separators, so values of one class fold apart (their case and separators stand
    at the same places), and values of two classes fold together only if their classes do.
    A list of IDs has a few classes: then no value's folded form is needed."""
    distinct = set(classes)
    return len({c.lower().translate(_DROP_SEPARATORS) for c in distinct}) == len(distinct)


def _variants(lst: _List, keys: list[str]) -> list[Finding]:
    """Values with one folded form (``keys``), split by their digit runs."""
    if len(set(keys)) == len(keys):
        return []
    shared = {key for key, n in Counter(keys).items() if n > 1}
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        if key in shared:
            groups[key].append(i)
    lst.groups = groups
    out: list[Finding] = []
    for members in groups.values():
        by_digits: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i in members:
            by_digits[_digit_runs(lst.values[i])].append(i)
        for group in by_digits.values():
            out += _variant_group(lst, group)
    return out


def _variant_group(lst: _List, group: list[int]) -> list[Finding]:
    """One group of variants (one folded form, the same digit runs), in time linear in its size:
    the few values declared distinct are looked up, never compared pair by pair."""
    values = lst.values
    distinct_from = lst.distinct_from
    in_group = {values[i] for i in group} if distinct_from else set()

    def has_partner(i: int) -> bool:
        declared = distinct_from.get(values[i])
        return len(group) - 1 - (len(declared & in_group) if declared else 0) > 0

    group = [i for i in group if has_partner(i)]
    if not group:
        return []
    style = _group_style(lst, group)
    best = max(group, key=lambda i: _cleanliness(lst, i, style))
    suggestion = canonical(values[best], style)
    lst.variants.update(group)
    to_fix = [i for i in group if values[i] != suggestion]
    listed = to_fix if len(to_fix) <= GROUP_LISTED else to_fix[:1]
    out = []
    for i in listed:
        other = _partner(lst, group, i, best)
        more = tuple(to_fix[1:]) if len(listed) < len(to_fix) else ()
        issues = differences(values[i], values[other])
        out.append(Finding("variant", i, suggestion, other, issues, more))
    return out


def _partner(lst: _List, group: list[int], i: int, best: int) -> int:
    """The variant ``i`` is reported with: the best of the group, unless that is ``i`` itself
    or declared distinct from it; then the first other that is not (``i`` has one)."""
    declared = lst.distinct_from.get(lst.values[i], set())
    if best != i and lst.values[best] not in declared:
        return best
    return next(j for j in group if j != i and lst.values[j] not in declared)


def _group_style(lst: _List, group: list[int]) -> Style:
    """The declared style; where it says "any" and the variants disagree, what most values do."""
    declared = lst.style
    members = [lst.values[i] for i in group]
    kinds: set[str] = set()
    if all(map(lookalikes.is_plain, members)):  # what ``differences`` would say, in two passes
        if _varies(map(operator.methodcaller("translate", _DROP_SEPARATORS), members)):
            kinds.add("case")
        if _varies(map(str.casefold, members)):
            kinds.add("separators")
    else:
        for value in members[1:]:
            kinds.update(differences(members[0], value))
            if {"case", "separators"} <= kinds:
                break  # nothing more to learn from the rest of a large group
    case, separator = declared.case, declared.separator
    if case == "any" and "case" in kinds:
        case = lst.effective.case
    if separator == "any" and "separators" in kinds:
        separator = lst.effective.separator
    return Style(case, separator, declared.distinct, declared.shapes)


def _varies(items: Iterable[str]) -> bool:
    """Whether the items are not all equal (stops at the first that differs)."""
    it = iter(items)
    first = next(it, None)
    return any(item != first for item in it)


def _near_duplicates(lst: _List, keys: list[str] | None, folded: str) -> list[Finding]:
    """Values one edit apart in their letters, with the same digit runs.

    Blocking: a one-letter typo changes one word of a value, and the words of a list are few
    (``payments``, ``api``, ...) even when its values are many. So near-duplicate *words* are
    found first, through a deletion index over the vocabulary; then each value holding such a
    word has it replaced by its near twin, and the result is looked up among the folded values.
    No pair of values is ever compared blindly.
    """
    letters_text = folded.translate(_DROP_DIGITS)
    if not _LONG.search(letters_text):
        return []  # no value has enough letters (APP-00041...): the common case, one scan
    if keys is None:
        keys = folded.split("\n")
    letters = letters_text.split("\n")
    # One representative per folded key (variants are reported as such, not as typos), long
    # enough: one edit in a short code (CRM, CMS) is too often deliberate.
    long = list(itertools.compress(range(len(keys)), map(MIN_LETTERS.__le__, map(len, letters))))
    first = dict(zip(map(keys.__getitem__, reversed(long)), reversed(long), strict=True))
    for key, members in lst.groups.items():
        if key in first:  # of variants, the cleanest stands for them
            first[key] = max(members, key=lambda i: _cleanliness(lst, i, lst.style))
    if len(first) < 2:
        return []
    normal = lst.normal
    reps = list(first.values())
    # Near-duplicate words, each to be looked for in the values holding the rarer of the two:
    # finding the pair from one side is enough.
    counts = lst.words
    twins: dict[str, list[str]] = defaultdict(list)
    for a, b in _one_edit_pairs(sorted(counts)):
        rare, common = (a, b) if counts[a] <= counts[b] else (b, a)
        twins[rare].append(common)
    if not twins:
        return []
    joined = "\n".join(normal[i] for i in reps)
    starts = [0, *itertools.accumulate(len(normal[i]) + 1 for i in reps)]
    found: set[tuple[int, int]] = set()
    for m in _occurrences(twins, joined):
        k = bisect.bisect_right(starts, m.start()) - 1
        i, at, end = reps[k], m.start() - starts[k], m.end() - starts[k]
        text = normal[i]
        for twin in twins[m.group()]:
            j = first.get((text[:at] + twin + text[end:]).translate(_DROP_SEPARATORS))
            if j is None or j == i:
                continue
            pair = (min(i, j), max(i, j))
            if pair not in found and _near(lst.values, letters, i, j):
                found.add(pair)
    return _near_findings(lst, found)


def _occurrences(words: Mapping[str, object], text: str) -> Iterable[re.Match[str]]:
    """Where ``words`` occur in ``text`` as whole words: a regex of them when they are few (the
    common case: a few typos), else every word of the text, kept if it is one of them."""
    if len(words) <= _FEW_WORDS:
        pattern = re.compile(
            r"(?<![^\W\d_])(?:"
            + "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
            + r")(?![^\W\d_])"
        )
        return pattern.finditer(text)
    return (m for m in _WORDS.finditer(text) if m.group() in words)


def _cleanliness(lst: _List, i: int, style: Style) -> tuple[bool, bool, int, int]:
    """Which of several variants is best: clean characters, in style, most words, first."""
    v = lst.values[i]
    return (
        not lookalikes.char_issues(v),
        not style.breaks(v),
        len(_SEPARATOR_RUNS.findall(v)),
        -i,
    )


def _near(values: Sequence[str], letters: list[str], i: int, j: int) -> bool:
    return one_edit(letters[i], letters[j]) and _digit_runs(values[i]) == _digit_runs(values[j])


def _one_edit_pairs(words: list[str]) -> list[tuple[str, str]]:
    """Pairs of words one edit apart, found through a deletion index: each word is filed under
    itself and every string one letter shorter, and two words one edit apart share an entry."""
    index: dict[str, list[str]] = defaultdict(list)
    for word in words:
        index[word].append(word)
        for shorter in {word[:k] + word[k + 1 :] for k in range(len(word))}:
            index[shorter].append(word)
    found: set[tuple[str, str]] = set()
    for group in index.values():
        for x in range(len(group)):
            for y in range(x + 1, len(group)):
                a, b = sorted((group[x], group[y]))
                if (a, b) not in found and one_edit(a, b):
                    found.add((a, b))
    return sorted(found)


def one_edit(a: str, b: str) -> bool:
    """True if ``b`` is ``a`` with one substitution, insertion, deletion or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:
        return True  # substitution
    return a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]  # swap


def _near_findings(lst: _List, pairs: set[tuple[int, int]]) -> list[Finding]:
    """One finding per likely typo: the value whose words are rarer in the list (``paymnets``
    appears once, ``payments`` in many values), pointing at its most likely intended twin. Of
    two typos of one value, neither is reported as a typo of the other."""
    values, style = lst.values, lst.effective

    def rank(i: int) -> tuple[int, bool, int]:  # commonness, then style, then list order
        return (lst.commonness(i), not style.breaks(values[i]), -i)

    partners: dict[int, list[int]] = defaultdict(list)
    for a, b in pairs:
        if not lst.declared_distinct(a, b):
            partners[a].append(b)
            partners[b].append(a)
    out = []
    for i, others in sorted(partners.items()):
        best = max(others, key=rank)
        if rank(best) > rank(i):
            out.append(Finding("near-duplicate", i, canonical(values[best], lst.style), best))
    return out


def _singles(lst: _List, odd: list[int], joined: str) -> list[Finding]:
    """Values with bad characters or out of the house style, that have no twin. ``joined``:
    the values joined by line breaks."""
    values, style = lst.values, lst.style
    if style.breaks(joined):  # one check of the joined text in the common case
        odd = sorted(set(odd) | {i for i, v in enumerate(values) if style.breaks(v)})
    out = []
    for i in odd:
        if i in lst.variants:
            continue  # its variant finding already says what to change
        issues = lookalikes.char_issues(values[i])
        rule: Rule = "characters" if issues else "style"
        issues += style.violations(lookalikes.latin(lookalikes.visible(values[i])))
        if issues:
            out.append(Finding(rule, i, canonical(values[i], style), None, tuple(issues)))
    return out


def _shapes(lst: _List, joined: str, skip: set[int], classes: list[str] | None) -> list[Finding]:
    """Values one small step from the shape of the list's ID families, that no other rule
    flags: the typos that have no twin (``shapes``)."""
    return [
        Finding(
            "shape",
            step.index,
            step.suggestion,
            issues=(step.issue,),
            like=(step.family.size, step.example),
        )
        for step in shapes.steps(lst.values, joined, skip, lst.style.shapes, classes)
    ]


# --- messages --------------------------------------------------------------------------------


def message(finding: Finding, values: Sequence[str], where: Callable[[int], str]) -> str:
    """A finding in words. ``where(i)`` says where value ``i`` stands ("line 12")."""
    show = lookalikes.show
    value = f"{show(values[finding.index])} ({where(finding.index)})"
    suggested = f"suggested: {show(finding.suggestion)}"
    if finding.other is not None:
        other = f"{show(values[finding.other])} ({where(finding.other)})"
        if finding.rule == "variant":
            text = f"{value} and {other} differ only in {_and(finding.issues)}; {suggested}"
            if finding.more:
                text += f"; and {len(finding.more):,} more values are variants of them (not listed)"
            return text
        return f"{value} is one edit away from {other}, probably a typo; {suggested}"
    if finding.like is not None:
        size, example = finding.like
        return (
            f"{value} has {_and(finding.issues)}, probably a typo "
            f"(like {size:,} other values: {example}); {suggested}"
        )
    return f"{value} has {_and(finding.issues)}; {suggested}"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
