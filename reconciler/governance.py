"""Governance labels: does a change make more pull requests fail or be blocked?

Each field change is *tightening* (more PRs commented on, failed or blocked), *loosening*
(fewer), *mixed*, *unknown* (depends on the code under review), or *neutral* (no effect on
enforcement: messages, names, notification targets). Each kind labels its own fields
(``ObjectKind.governance``) with the helpers here; the rule table is in docs/governance.md and
tests/cases/governance checks each rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model import FieldChange, Governance


def combine(labels: Iterable[Governance]) -> Governance:
    seen = set(labels) - {"neutral"}
    if not seen:
        return "neutral"
    if "mixed" in seen or {"tightening", "loosening"} <= seen:
        return "mixed"
    if "unknown" in seen:
        return "unknown"
    return "tightening" if "tightening" in seen else "loosening"


def sets(change: FieldChange, *, more_is_tighter: bool) -> Governance:
    """A set-like list: members added, removed, or both."""
    if change.added and change.removed:
        return "mixed"
    if change.added:
        return "tightening" if more_is_tighter else "loosening"
    return "loosening" if more_is_tighter else "tightening"


def switch(change: FieldChange) -> Governance:
    """A flag that enforces when on (``blockPr``, ``prComment``, ``mandatory``)."""
    if change.after is True and change.before is False:
        return "tightening"
    if change.after is False and change.before is True:
        return "loosening"
    return "unknown"
