"""Characters that cannot be seen or that look like others: the character level of hygiene.

Three folds, applied in this order by ``hygiene``:

- ``visible``: invisible formatting characters (zero-width space and joiners, BOM, soft hyphen,
  bidi marks: Unicode category Cf) are dropped; every run of white space (including no-break and
  other Unicode spaces, tabs, line breaks) becomes one space; leading and trailing space goes.
- ``latin``: NFKC (full-width forms, ligatures, composed accents), then every non-ASCII character
  that Unicode's confusables table (TR39, shipped by the confusable-homoglyphs package) says
  looks like an ASCII character becomes that character (Cyrillic a U+0430 -> ``a``, Greek
  capital omicron -> ``O``, minus sign and en dash -> ``-``); any other dash punctuation becomes
  ``-`` too. ASCII characters are never mapped to each other: ``0``/``O`` and ``1``/``l`` stay
  distinct.
- case folding and separators are plain string operations, done in ``hygiene``.

The table is read only when a value holds a non-ASCII character: lists of plain ASCII IDs, the
common case, never pay for it.
"""

from __future__ import annotations

import unicodedata
from functools import cache

# ASCII, printable, no leading, trailing or doubled space: nothing for this module to do.
_ODD_SPACE = "  "


def is_plain(value: str) -> bool:
    """True for the common case: printable ASCII with single inner spaces and none at the ends."""
    return (
        value.isascii()
        and value.isprintable()
        and _ODD_SPACE not in value
        and value[:1] != " "
        and value[-1:] != " "
    )


def is_invisible(char: str) -> bool:
    """Zero-width space and joiners, BOM, soft hyphen, bidi marks (Unicode category Cf)."""
    return unicodedata.category(char) == "Cf"


def visible(value: str) -> str:
    """Invisible characters dropped, white space runs as one space, no space at the ends."""
    if is_plain(value):
        return value
    kept = "".join(c for c in value if not is_invisible(c))
    return " ".join(kept.split())


@cache
def _table() -> dict[str, str]:
    """Non-ASCII character -> the ASCII character it is confused with (TR39 confusables)."""
    from confusable_homoglyphs import utils  # a JSON file of ~9,600 characters: ~10 ms

    data: dict[str, list[dict[str, str]]] = utils.load("confusables.json")
    table: dict[str, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        target = next(
            (g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"] != " "),
            None,
        )
        if target is None:
            continue
        if target == "l" and "CAPITAL" in unicodedata.name(char, ""):
            target = "I"  # TR39 files capital I under l; keep the case a reader sees
        table[char] = target
    return table


def _ascii_for(char: str) -> str | None:
    """The ASCII character a non-ASCII one (already NFKC) stands for, if it looks like one."""
    target = _table().get(char)
    if target is None and unicodedata.category(char) == "Pd":
        target = "-"  # em dash, horizontal bar...: TR39 maps them to a non-ASCII prototype
    return target


def latin(value: str) -> str:
    """NFKC, then look-alike characters replaced by the ASCII characters they imitate."""
    if value.isascii():
        return value
    normal = unicodedata.normalize("NFKC", value)
    if normal.isascii():
        return normal
    return "".join(c if c.isascii() else (_ascii_for(c) or c) for c in normal)


_CONTROL_NAMES = {"\t": "tab", "\n": "line break", "\r": "carriage return"}


def _describe(char: str) -> str:
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "").lower() or "control character"
    return f"{name} U+{ord(char):04X}"


def _imitation(char: str) -> str | None:
    """For a non-ASCII, non-Latin character: the ASCII character it imitates, if any."""
    if unicodedata.normalize("NFKC", char) != char:
        return unicodedata.normalize("NFKC", char)
    if unicodedata.name(char, "").startswith("LATIN"):
        return None
    return _ascii_for(char)


def char_issues(value: str) -> list[str]:
    """What is wrong with a value's characters, in words; empty for a clean value.

    A non-ASCII letter is reported only when it imitates an ASCII one inside an otherwise
    ASCII value (``p\u0430yments`` with a Cyrillic a), or when NFKC changes it (full-width
    forms): a value written wholly in another script is left alone.
    """
    if is_plain(value):
        return []
    issues: list[str] = []
    stripped = value.strip()
    if stripped != value:
        if value[:1].isspace():
            issues.append("a leading space")
        if value[-1:].isspace():
            issues.append("a trailing space")
    if "  " in stripped:
        issues.append("a doubled space")
    seen: set[str] = set()
    mixed = any(c.isascii() and c.isalnum() for c in value)
    for char in value:
        if char in seen or (char.isascii() and char.isprintable()):
            continue
        seen.add(char)
        if is_invisible(char):
            issues.append(f"an invisible {_describe(char)}")
        elif char.isspace():
            if char != " ":
                issues.append(f"a {_describe(char)}")
        elif unicodedata.normalize("NFKC", char) != char:
            issues.append(f"the compatibility form {_describe(char)}")
        elif mixed and (target := _imitation(char)) is not None:
            issues.append(f'the look-alike {_describe(char)} for "{target}"')
    return issues


def show(value: str) -> str:
    """A value in double quotes; characters a reader could not see or tell apart are escaped."""
    return '"' + escape(value.replace("\\", "\\\\").replace('"', '\\"')) + '"'


def escape(text: str) -> str:
    """Text with controls, invisible characters and look-alikes in ASCII text as ``\\uXXXX``."""
    if text.isascii() and text.isprintable():
        return text
    mixed = any(c.isascii() and c.isalnum() for c in text)
    out = []
    for char in text:
        if char.isascii() and char.isprintable():
            out.append(char)
        elif (
            char.isascii()
            or unicodedata.category(char)[0] in "CZ"
            or (mixed and _imitation(char) is not None)
        ):
            out.append(f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return "".join(out)
