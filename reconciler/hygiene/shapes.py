"""The shape families of an ID list, and the values one small step from them (``hygiene/shape``).

An application ID list has no twins: ``APP-O1700`` (a letter O for a zero) sits among 20,000
well-formed ``APP-00000`` IDs with no ``APP-01700`` beside it, so the variant and near-duplicate
checks cannot see it. Its *shape* gives it away.

- **Shape**: a value with every digit as ``9``, every run of upper-case letters as one ``A``, of
  lower-case letters as one ``a``, every other character kept: ``APP-00042`` is ``A-99999``,
  ``svc-payments-042`` is ``a-a-999``.
- **Family**: a shape held by at least ``least`` values (3% of the list, at most 25, at least 3),
  with the letters it keeps fixed: a letter run that a few literals fill (``APP``; ``CI`` or
  ``APM``) is fixed, one that many words fill (``payments``, ``billing``...) is free. Each
  combination of fixed literals makes a family of its own (``CI0000000``, ``APM0000000``).
- **Targets**: the ID families (shapes with a digit run) that hold 3% of the list, among the
  few largest shapes that together hold most of it (``DOMINANT``), and the families a user
  declares. A list that no few shapes hold (team or product names) has no targets, and no shape
  findings.
- **Findings**: a value in no family that one small step brings into a target family: a
  look-alike letter for a digit (or a digit for a letter of a fixed literal), a zero-padded
  digit run one digit short or long, one letter doubled, dropped, swapped or changed in a fixed
  literal, a separator missing, extra or different, the other letter case, a stray trailing
  character. The suggestion is the value after that step.

Linear, and never value by value where it can be helped: the shapes are counted in passes over
the joined list, the literals of the largest shapes in one or two scans of their values
(``_from_sample``), and a value in no family is tried step by step only when one expression of
every target's one-step neighbours matches it (``_one_step``).
"""

from __future__ import annotations

import itertools
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DOMINANT = 0.8  # the largest families must hold this share of the list...
MOST_FAMILIES = 8  # ...and be at most this many, or the list has no dominant shape
SHARE = 0.03  # a shape held by this share of the list is a family, not a typo...
ENOUGH = 25  # ...as is one held by this many values
FEWEST = 3  # ...but never fewer (in a short list)
MOST_FIXED = 5  # a letter run filled by more literals than this is free (words, not a prefix)
FIXED_COVER = 0.9  # ...as is one whose common literals fill less than this share of the shape
SAMPLE = 1000  # values of a shape that show whether its letter runs are fixed (most are)

_CLASSES = str.maketrans(
    string.digits + string.ascii_uppercase + string.ascii_lowercase,
    "9" * 10 + "A" * 26 + "a" * 26,
)
_UPPER_RUNS = re.compile(r"A+")
_LOWER_RUNS = re.compile(r"a+")
_TOKENS = re.compile(r"9+|A|a|.", re.DOTALL)
_LETTER_RUNS = re.compile(r"[A-Z]+|[a-z]+")
_DIGIT_RUNS = re.compile(r"[0-9]+")
_LOOKS_LIKE_DIGIT = {"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "s": "5", "B": "8"}
_LOOKS_LIKE_DIGIT |= {"Z": "2", "z": "2"}
_LOOKS_LIKE_LETTER = {"0": "O", "1": "Il", "5": "S", "8": "B", "2": "Z"}


@dataclass(frozen=True)
class Settings:
    """``hygiene: {KEY: {shapes: ...}}`` of reconciler.yaml."""

    check: bool = True
    families: tuple[str, ...] = ()  # examples of legitimate shapes: "APP-00000", "LEG_0000"
    least: int | None = None  # values that make a family (default: see ``least``)


def settings(config: Mapping[str, Any] | None) -> Settings:
    if not config:
        return Settings()
    return Settings(
        check=bool(config.get("check", True)),
        families=tuple(config.get("families", ())),
        least=config.get("minFamily"),
    )


def shape(value: str) -> str:
    """``APP-00042`` -> ``A-99999``."""
    return _LOWER_RUNS.sub("a", _UPPER_RUNS.sub("A", value.translate(_CLASSES)))


def least(n: int, declared: int | None = None) -> int:
    """How many values of a list of ``n`` make a family of their own."""
    if declared is not None:
        return declared
    return max(FEWEST, min(math.ceil(SHARE * n), ENOUGH))


@dataclass(frozen=True)
class Family:
    """Values of one shape with the same fixed literals: ``APP-00000``, 19,998 values."""

    shape: str
    literals: tuple[str | None, ...]  # per letter run of the shape: its fixed literal, or None
    padded: tuple[bool, ...]  # per digit run: zero-padded to its width (a digit more is a typo)
    size: int

    @property
    def free(self) -> bool:
        return None in self.literals

    def parts(self) -> list[str]:
        """An expression per part of the shape (digit run, letter run, other character)."""
        out, letter = [], 0
        for token in _TOKENS.findall(self.shape):
            if token in ("A", "a"):
                literal = self.literals[letter]
                letter += 1
                out.append(_strict(token) if literal is None else re.escape(literal))
            else:
                out.append(_strict(token))
        return out

    def pattern(self) -> str:
        return "".join(self.parts())

    def example(self, value: str) -> str:
        """The family as a reader recognizes it: ``value`` (one of its members) with every
        digit as 0."""
        return _DIGIT_RUNS.sub(lambda m: "0" * len(m.group()), value)


Check = Callable[["Family"], bool]  # whether a step may bring a value into a family


@dataclass(frozen=True)
class Step:
    """One value one step from a family: its index, the value after the step, and why."""

    index: int
    suggestion: str
    issue: str  # in words: 'the letter "O" where a digit belongs'
    family: Family
    example: str  # "APP-00000"


@dataclass
class _Learned:
    families: list[Family] = field(default_factory=list)  # the families of the largest shapes
    targets: list[Family] = field(default_factory=list)
    outsiders: list[int] = field(default_factory=list)  # values in no family


def steps(
    values: Sequence[str],
    joined: str,
    skip: set[int],
    config: Settings = Settings(),
    classes: list[str] | None = None,
) -> list[Step]:
    """The values (not in ``skip``) one small step from a target family, in list order.
    ``joined`` is the values joined by line breaks (values hold none); ``classes`` their
    ``character_classes``, if already computed."""
    if not config.check or not values:
        return []
    if not config.families and len(values) <= least(len(values), config.least):
        return []  # a family holds that many values: none would be left outside it
    learned = _learn(values, joined, config, classes)
    candidates = [i for i in learned.outsiders if i not in skip]
    if not learned.targets or not candidates:
        return []  # the expressions of the steps are built only for a value to try (rare)
    finder = _Finder(learned.targets)
    near = finder.screen.fullmatch
    out = []
    for i in candidates:
        if near(values[i]) is None:
            continue
        found = finder.step(values[i])
        if found is not None:
            suggestion, issue, family = found
            out.append(Step(i, suggestion, issue, family, family.example(suggestion)))
    return out


def character_classes(joined: str) -> list[str]:
    """Each value's characters as classes (APP-00042: AAA-99999), from the values joined by
    line breaks. Equal class strings are one object: a list of a million IDs of a few shapes
    holds a few strings, not a million (the text is translated and split a piece at a time)."""
    one: dict[str, str] = {}
    out: list[str] = []
    for piece in _pieces(joined):
        part = piece.translate(_CLASSES).split("\n")
        out += map(one.setdefault, part, part)
    return out


_PIECE = 1 << 20  # characters translated and split at a time


def _pieces(text: str) -> Iterator[str]:
    """``text`` in pieces of about ``_PIECE`` characters, cut at line breaks (which they drop):
    their lines are the text's lines."""
    start = 0
    while True:
        end = text.find("\n", start + _PIECE)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _learn(
    values: Sequence[str], joined: str, config: Settings, classes: list[str] | None = None
) -> _Learned:
    """The families of the list's largest shapes, and the values in no family: in passes over
    the joined values (and over each large shape's values), never value by value."""
    n = len(values)
    fewest = least(n, config.least)
    # Each value's class string, counted; then each distinct class string (few) collapsed to
    # its shape (A-99999).
    if classes is None:
        classes = character_classes(joined)
    class_counts = Counter(classes)
    distinct = "\n".join(class_counts)
    collapsed = _LOWER_RUNS.sub("a", _UPPER_RUNS.sub("A", distinct)).split("\n")
    shape_of = dict(zip(class_counts, collapsed, strict=True))
    counts: Counter[str] = Counter()
    for c, k in class_counts.items():
        counts[shape_of[c]] += k
    common = {s for s, c in counts.items() if c >= fewest}
    largest = sorted(common, key=lambda s: (-counts[s], s))[:MOST_FAMILIES]
    dominant = sum(counts[s] for s in largest) >= DOMINANT * n
    declared = [_declared(example, joined) for example in config.families]
    learned = _Learned()
    if not dominant and not declared:
        return learned  # a list of names, or of many kinds of IDs: nothing to compare with
    rare_classes = {c for c, s in shape_of.items() if s not in common}
    outsiders = (
        list(itertools.compress(range(n), map(rare_classes.__contains__, classes)))
        if rare_classes
        else []
    )
    if dominant and counts[largest[0]] == n:  # one shape holds every value (a list of IDs)
        learned.families, outsiders = _families(values, None, largest[0], n, fewest, joined)
    elif dominant:
        rank = {s: k for k, s in enumerate(largest)}
        of_class = {c: rank.get(s, -1) for c, s in shape_of.items()}
        ranks = list(map(of_class.__getitem__, classes))
        for k, s in enumerate(largest):
            in_shape = list(map(k.__eq__, ranks))
            families, rare = _families(values, in_shape, s, counts[s], fewest)
            learned.families += families
            outsiders += rare
    if declared:
        pattern = re.compile("|".join(f"(?:{f.pattern()})" for f in declared))
        outsiders = [i for i in outsiders if not pattern.fullmatch(values[i])]
    learned.outsiders = sorted(outsiders)
    learned.families.sort(key=lambda f: -f.size)
    learned.targets = [
        f for f in learned.families if "9" in f.shape and f.size >= SHARE * n
    ] + declared
    return learned


def _families(
    values: Sequence[str],
    in_shape: list[bool] | None,
    s: str,
    size: int,
    fewest: int,
    text: str | None = None,
) -> tuple[list[Family], list[int]]:
    """The families of one large shape (the values ``in_shape``; None: every value, joined in
    ``text``), and the indices of its values whose fixed literals are rare (``APPP`` among
    ``APP``)."""
    if text is None:
        assert in_shape is not None
        text = "\n".join(itertools.compress(values, in_shape))
    tokens = _TOKENS.findall(s)
    padded = tuple(_padded(tokens, k, text) for k, token in enumerate(tokens) if token[0] == "9")
    runs = sum(1 for token in tokens if token in ("A", "a"))
    if not runs:
        return [Family(s, (), padded, size)], []
    quick = _from_sample(values, text, tokens, size, fewest, padded)
    if quick is not None:
        return quick
    letters = _LETTER_RUNS.findall(text)
    fixed: list[int] = []
    per_run: list[dict[str, int]] = []
    for p in range(runs):
        counts = Counter(letters[p::runs] if runs > 1 else letters)
        common = {w: c for w, c in counts.items() if c >= fewest}
        per_run.append(common)
        if len(common) <= MOST_FIXED and sum(common.values()) >= FIXED_COVER * size:
            fixed.append(p)
    if not fixed:
        return [Family(s, (None,) * runs, padded, size)], []
    # The fixed literals of each value (one tuple each), unless the shape has one letter run
    # (APP-00042, the common case): then its literals, as they are.
    combos = letters if runs == 1 else list(zip(*(letters[p::runs] for p in fixed), strict=True))
    combo_counts = counts if runs == 1 else Counter(combos)
    kept = {
        combo: k
        for combo, k in combo_counts.items()
        if k >= fewest and all(w in per_run[p] for w, p in zip(_tuple(combo), fixed, strict=True))
    }
    families = []
    for combo, k in kept.items():
        literals: list[str | None] = [None] * runs
        for p, w in zip(fixed, _tuple(combo), strict=True):
            literals[p] = w
        families.append(Family(s, tuple(literals), padded, k))
    rare: list[int] = []
    if len(kept) < len(combo_counts):
        odd = set(combo_counts) - set(kept)
        members: Iterable[int] = (
            range(len(values))
            if in_shape is None
            else itertools.compress(range(len(in_shape)), in_shape)
        )
        rare = list(itertools.compress(members, map(odd.__contains__, combos)))
    return families, rare


def _from_sample(
    values: Sequence[str],
    text: str,
    tokens: list[str],
    size: int,
    fewest: int,
    padded: tuple[bool, ...],
) -> tuple[list[Family], list[int]] | None:
    """The families of a shape in a few scans of its values, never value by value (the common
    case). The first values tell the letter runs apart: one filled by many words is free, one
    filled by a few literals (APP; FIN, HR, OPS) is fixed. With one literal, one expression finds
    the values that hold others; with a few, one more scan counts each value's literals.
    None when the first values do not tell, or many values differ from them."""
    shape_ = "".join(tokens)
    runs = sum(1 for token in tokens if token in ("A", "a"))
    at = [k for k, token in enumerate(tokens) if token in ("A", "a")]
    head = "\n".join(text.split("\n", SAMPLE)[:SAMPLE])
    letters = _LETTER_RUNS.findall(head)
    seen = [sorted(set(letters[p::runs])) for p in range(runs)]
    fixed = [p for p in range(runs) if len(seen[p]) <= MOST_FIXED]
    if not fixed:
        return [Family(shape_, (None,) * runs, padded, size)], []
    combos = list(itertools.product(*(seen[p] for p in fixed)))
    if len(combos) > MOST_FIXED:
        return None
    parts = [_strict(token) for token in tokens]

    def expression(replace: dict[int, str]) -> re.Pattern[str]:
        return re.compile(
            "^" + "".join(replace.get(k, part) for k, part in enumerate(parts)) + "$",
            re.MULTILINE,
        )

    # Each value's fixed literals: the literal itself when the shape has one fixed run.
    single = len(fixed) == 1
    keys: list[str] | list[tuple[str, ...]]
    if len(combos) > 1:  # FIN, HR, OPS...: every value's fixed literals, counted
        keys = expression({at[p]: f"({parts[at[p]]})" for p in fixed}).findall(text)
        counts: Counter[str | tuple[str, ...]] = Counter(keys)
        lines = text.split("\n")
    else:  # APP: only the values with other literals, found by one expression
        options = []
        for p in fixed:
            k = at[p]
            other = "(?![A-Z])" if tokens[k] == "A" else "(?![a-z])"
            literal = re.escape(seen[p][0])
            options.append(expression({k: f"(?!{literal}{other}){parts[k]}"}).pattern[1:-1])
        lines = re.findall("^(?:" + "|".join(options) + ")$", text, re.MULTILINE)
        if len(lines) > (1 - FIXED_COVER) * size:
            return None
        letters = _LETTER_RUNS.findall("\n".join(lines))
        rows = [tuple(letters[j * runs + p] for p in fixed) for j in range(len(lines))]
        keys = [row[0] for row in rows] if single else rows
        counts = Counter(keys)
        counts[combos[0][0] if single else combos[0]] = size - len(lines)
    families = []
    for combo, n in counts.items():
        if n >= fewest:
            literals: list[str | None] = [None] * runs
            for p, w in zip(fixed, _tuple(combo), strict=True):
                literals[p] = w
            families.append(Family(shape_, tuple(literals), padded, n))
    if sum(f.size for f in families) < FIXED_COVER * size:
        return None  # the literals are not few after all: the exact count tells fixed from free
    rare = {combo for combo, n in counts.items() if n < fewest}
    if not rare:
        return families, []
    odd = set(itertools.compress(lines, map(rare.__contains__, keys)))
    return families, list(itertools.compress(range(len(values)), map(odd.__contains__, values)))


def _tuple(combo: str | tuple[str, ...]) -> tuple[str, ...]:
    return (combo,) if isinstance(combo, str) else combo


def _padded(tokens: list[str], k: int, text: str) -> bool:
    """Whether some value of the shape has a leading zero in digit run ``k``: the run is
    zero-padded to its width, so one digit more or less is a typo, not a larger number. A run
    of one digit is never padded: a lone ``0`` is the number zero."""
    if len(tokens[k]) < 2:
        return False
    parts = [_strict(t) for t in tokens]
    parts[k] = f"0[0-9]{{{len(tokens[k]) - 1}}}"
    return re.search("^" + "".join(parts) + "$", text, re.MULTILINE) is not None


def _strict(token: str) -> str:
    if token[0] == "9":
        return f"[0-9]{{{len(token)}}}"
    if token == "A":
        return "[A-Z]+"
    if token == "a":
        return "[a-z]+"
    return re.escape(token)


def _declared(example: str, joined: str) -> Family:
    """A family declared by an example value: its letters fixed, its digit runs padded."""
    s = shape(example)
    family = Family(
        s, tuple(_LETTER_RUNS.findall(example)), (True,) * len(_DIGIT_RUNS.findall(example)), 0
    )
    size = len(re.findall(f"^(?:{family.pattern()})$", joined, re.MULTILINE))
    return Family(family.shape, family.literals, family.padded, size)


# --- steps -----------------------------------------------------------------------------------


class _Finder:
    """Tries the small steps on a value, each against one expression of every target family."""

    def __init__(self, targets: list[Family]) -> None:
        self.targets = targets
        # A value no step can bring into a family fails this one expression, and is not
        # looked at one step at a time (most values outside the families, in a messy list).
        self.screen = re.compile("|".join(_one_step(f) for f in targets))
        self.any = re.compile("|".join(f"(?:{f.pattern()})" for f in targets))
        self.each = [(f, re.compile(f.pattern())) for f in targets]
        self.separators = sorted(
            {c for f in self.targets for c in f.shape if not c.isalnum() and c != "9"}
        )
        self.letters = {c for f in self.targets for w in f.literals if w for c in w}
        # A separator between two letters may be missing or extra (BAFIN-0042) only in a
        # family whose letters are all fixed: elsewhere the letters are words of any length.
        self.splits_letters = any(not f.free for f in targets)
        # A family with fixed literals, its letter runs as loose groups: a literal one edit
        # from a fixed one is found by matching the rest of the value.
        self.loose = [(f, re.compile(_loose(f))) for f in targets if any(f.literals)]

    def step(self, value: str) -> tuple[str, str, Family] | None:
        for candidate, issue, check in self._candidates(value):
            if self.any.fullmatch(candidate) is None:
                continue
            for family, pattern in self.each:
                if pattern.fullmatch(candidate) and check(family):
                    return candidate, issue, family
        return self._literal(value)

    def _candidates(self, value: str) -> Iterator[tuple[str, str, Check]]:
        anything = _always
        for i, c in enumerate(value):
            digit = _LOOKS_LIKE_DIGIT.get(c)
            if digit is not None:
                yield (
                    value[:i] + digit + value[i + 1 :],
                    f'the letter "{c}" where a digit belongs',
                    anything,
                )
        for i, c in enumerate(value):
            for letter in _LOOKS_LIKE_LETTER.get(c, ""):
                if letter in self.letters:
                    yield (
                        value[:i] + letter + value[i + 1 :],
                        f'the digit "{c}" where the letter "{letter}" belongs',
                        anything,
                    )
        for case in (value.upper(), value.lower()):
            if case != value:
                what = "lower-case" if case == value.upper() else "upper-case"
                yield case, f"{what} letters", anything
        if len(value) > 1 and not value[-1].isdigit():  # a digit more: a digit run too long
            yield value[:-1], f'a stray "{value[-1]}" at the end', anything
        yield from self._separators(value)
        for p, m in enumerate(_DIGIT_RUNS.finditer(value)):
            run, start, end = m.group(), m.start(), m.end()
            padded = _padded_run(p)
            yield value[:start] + "0" + value[start:], "a digit too few", padded
            yield value[:start] + _shorter(run) + value[end:], "a digit too many", padded

    def _separators(self, value: str) -> Iterator[tuple[str, str, Check]]:
        for i, c in enumerate(value):
            if c.isalnum():
                continue
            joins_letters = (
                0 < i < len(value) - 1 and value[i - 1].isalpha() and value[i + 1].isalpha()
            )
            if not joins_letters or self.splits_letters:
                check = _fixed if joins_letters else _always
                yield value[:i] + value[i + 1 :], f'an extra "{c}"', check
            for s in self.separators:
                if s != c:
                    yield value[:i] + s + value[i + 1 :], f'"{c}" where "{s}" belongs', _always
        for i in range(1, len(value)):
            a, b = value[i - 1], value[i]
            if not (a.isalnum() and b.isalnum()):
                continue
            if a.isdigit() != b.isdigit():
                check = _always
            elif a.isalpha() and b.isalpha() and self.splits_letters:
                check = _fixed
            else:
                continue
            for s in self.separators:
                yield value[:i] + s + value[i:], f'a missing "{s}"', check

    def _literal(self, value: str) -> tuple[str, str, Family] | None:
        """A fixed literal with one letter doubled, dropped, swapped or changed."""
        from reconciler.hygiene.variants import one_edit

        for family, loose in self.loose:
            m = loose.fullmatch(value)
            if m is None:
                continue
            wrong = [
                (k, m.group(k + 1), w)
                for k, w in enumerate(family.literals)
                if w is not None and m.group(k + 1) != w
            ]
            if len(wrong) != 1:
                continue
            k, got, want = wrong[0]
            if not (one_edit(got, want) or got.upper() == want.upper()):
                continue
            start, end = m.span(k + 1)
            return value[:start] + want + value[end:], _edit(got, want), family
        return None


def _always(family: Family) -> bool:
    return True


def _fixed(family: Family) -> bool:
    return not family.free


def _padded_run(p: int) -> Check:
    return lambda family: p < len(family.padded) and family.padded[p]


def _shorter(run: str) -> str:
    """A digit run one digit shorter: without a leading zero, else one of a doubled digit,
    else without its last digit."""
    if run[0] == "0":
        return run[1:]
    for i in range(1, len(run)):
        if run[i] == run[i - 1]:
            return run[:i] + run[i + 1 :]
    return run[:-1]


def _loose(family: Family) -> str:
    """The family's expression with each letter run a group, of any letters where fixed."""
    out, letter = [], 0
    for token in _TOKENS.findall(family.shape):
        if token in ("A", "a"):
            fixed = family.literals[letter] is not None
            out.append("([A-Za-z]+)" if fixed else f"({_strict(token)})")
            letter += 1
        else:
            out.append(_strict(token))
    return "".join(out)


_NOT_ALNUM = "[^A-Za-z0-9]"


def _one_step(family: Family) -> str:
    """An expression that every value one step from the family matches (and a few more): the
    family's, in any case, with a character added at the end or between two parts, or with one
    part loosened: a digit run one digit shorter or longer or with look-alike letters, a fixed
    literal one character off, a separator missing or another."""
    parts: list[str] = []
    letter = 0
    for token in _TOKENS.findall(family.shape):
        if token[0] == "9":
            n = len(token)
            loose = f"[0-9OoIlSsBZz]{{{n - 1},{n + 1}}}|[0-9]+{_NOT_ALNUM}[0-9]+"
        elif token in ("A", "a"):
            literal = family.literals[letter]
            letter += 1
            if literal is None:
                loose = _strict(token)
            else:
                n = len(literal)
                loose = f"[A-Za-z0-9]{{{max(n - 1, 0)},{n + 1}}}|[A-Za-z]+{_NOT_ALNUM}[A-Za-z]+"
        else:
            loose = f"{_NOT_ALNUM}?"
        parts.append(f"(?:{loose})")
    strict = family.parts()
    whole = "".join(strict)
    options = [f"(?i:{whole})", f"{whole}."]
    for k in range(len(strict)):
        options.append("".join(strict[:k]) + parts[k] + "".join(strict[k + 1 :]))
    for k in range(len(strict) + 1):
        options.append("".join(strict[:k]) + _NOT_ALNUM + "".join(strict[k:]))
    return "|".join(f"(?:{option})" for option in options)


def _edit(got: str, want: str) -> str:
    """How a literal differs from the fixed one, in words."""
    if len(got) == len(want) + 1:
        i = next((k for k in range(len(want)) if got[k] != want[k]), len(want))
        if (i > 0 and got[i] == got[i - 1]) or (i + 1 < len(got) and got[i] == got[i + 1]):
            return f'a doubled letter ("{got}" for "{want}")'
        return f'an extra letter ("{got}" for "{want}")'
    if len(got) + 1 == len(want):
        return f'a dropped letter ("{got}" for "{want}")'
    if sorted(got) == sorted(want) and got != want and got.upper() != want.upper():
        return f'swapped letters ("{got}" for "{want}")'
    return f'a changed letter ("{got}" for "{want}")'
