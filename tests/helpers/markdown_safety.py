"""What GitHub would parse in a comment: nothing from users may act as markdown or HTML.

``assert_safe`` checks a rendered comment (plan, hygiene findings, apply report): outside code
blocks and spans only generated prose remains, with no mention, issue link, table, HTML comment,
foreign tag or heading that the renderer did not write.
"""

from __future__ import annotations

import re

from tests.helpers.plans import HOSTILE_NAMES

MARKER = re.compile(r"<!-- reconciler:plan dir=(\S*) org=(\S*) -->")
GENERATED_TAGS = {"<details>", "<summary>", "</summary>", "</details>"}
TITLES = re.compile(
    r"#### (Tightening|Mixed|Unknown|Loosening|Neutral|Unmanaged) \([\d,]+\): [a-z ,]+"
    r"|#### Custom properties|#### Warnings \([\d,]+\)"
    r"|### (Plan|Plan refused): [\d,]+ to add, [\d,]+ to change, [\d,]+ to destroy.*"
    r"|### No changes"
)


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
        assert "@" not in line, line
        assert not re.search(r"#\d", line), line
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
