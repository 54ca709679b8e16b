"""What GitHub would parse in a comment: nothing from users may act as markdown or HTML.

``assert_safe`` checks a rendered comment (plan, hygiene findings, apply report): outside code
blocks and spans only generated prose remains, with no mention, issue link, table, HTML comment,
foreign tag or heading that the renderer did not write.
"""

from __future__ import annotations

import re

from tests.helpers.plans import HOSTILE_NAMES

MARKER = re.compile(r"<!-- reconciler:plan dir=(\S*) org=(\S*) -->")
GENERATED_TAGS = {"<details>", "<summary>", "</summary>", "</details>", "<code>", "</code>"}
TITLES = re.compile(
    r"#### (Tightening|Mixed|Unknown|Loosening|Neutral|Unmanaged) \([\d,]+\): [a-z ,]+"
    r"|#### Custom properties|#### Warnings \([\d,]+\)"
    r"|### Plan: [\d,]+ to add, [\d,]+ to change, [\d,]+ to destroy.*"
    r"|### Plan refused \([\d,]+ problems?\): would add [\d,]+, change [\d,]+, destroy [\d,]+"
    r"|### No changes: [\d,]+ objects? in sync"
)
# what a fold's label may hold besides generated words: <code> elements of escaped text
_HTML_CODE = re.compile(r"<code>[^<>`@]*</code>")


def _strip_code_spans(line: str) -> str:
    """The line with its code spans replaced by ``CODE`` (CommonMark: equal backtick runs)."""
    out, i = [], 0
    while i < len(line):
        if line[i] != "`":
            out.append(line[i])
            i += 1
            continue
        run = re.match(r"`+", line[i:])
        assert run is not None
        n, j = len(run.group()), i + len(run.group())
        close = next((m for m in re.finditer(r"`+", line[j:]) if len(m.group()) == n), None)
        if close is None:
            out.append(run.group())  # a literal backtick run
            i = j
        else:
            out.append("CODE")
            i = j + close.end()
    return "".join(out)


def prose(md: str) -> list[str]:
    """Lines outside code blocks, code spans removed: where markdown and HTML would act."""
    lines, fence = [], ""
    for raw in md.splitlines()[1:]:  # the marker is checked on its own
        line = re.sub(r"^> ?", "", raw)  # the refusal is a blockquote
        if fence:
            if re.fullmatch(rf" {{0,3}}`{{{len(fence)},}}\s*", line):
                fence = ""
            continue
        opening = re.match(r" {0,3}(`{3,})", line)
        if opening:
            fence = opening.group(1)
            continue
        lines.append(_strip_code_spans(line))
    assert not fence, "a code block is never closed"
    return lines


def assert_safe(md: str) -> None:
    """Nothing from users acts as markdown or HTML: only generated prose is outside code."""
    assert MARKER.fullmatch(md.splitlines()[0])
    outside = prose(md)
    for line in outside:
        line = _HTML_CODE.sub("CODE", line)
        assert not re.search(r"@[\w-]", line), line  # a mention; " @ " is prose
        assert not re.search(r"#\d", line), line
        if not line.startswith("|"):  # a table row is generated; its cells are code
            assert "|" not in line, line
        assert "<!--" not in line, line
        for tag in re.findall(r"</?[A-Za-z][^>]*>?", line):
            assert tag in GENERATED_TAGS, line
        if line.startswith("#"):
            assert TITLES.fullmatch(line), line
        for name in HOSTILE_NAMES:
            assert name.splitlines()[0] not in line, line
    assert sum(line.count("<details>") for line in outside) == sum(
        line.count("</details>") for line in outside
    )


def assert_fenced_lines_fit(md: str, width: int = 120) -> None:
    """No line inside a fenced code block is longer than ``width`` characters: wider ones run
    off a 900 px comment (GitHub scrolls the block sideways)."""
    fence = ""
    for raw in md.splitlines():
        line = re.sub(r"^> ?", "", raw)
        if fence:
            if re.fullmatch(rf" {{0,3}}`{{{len(fence)},}}\s*", line):
                fence = ""
            else:
                assert len(line) <= width, f"{len(line)} characters: {line}"
            continue
        opening = re.match(r" {0,3}(`{3,})", line)
        if opening:
            fence = opening.group(1)
