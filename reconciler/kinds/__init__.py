"""The registry of kinds: one module each, behind the Protocols of ``base``.

``OBJECT_KINDS`` is in apply order (creates and updates in this order, deletes in reverse).
To add a kind: a JSON Schema in schemas/, one module here, one line below, and its entry in the
sandbox (docs/adding-a-kind.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.kinds.base import ObjectKind, TableKind
from reconciler.kinds.custom_properties import CustomProperties
from reconciler.kinds.guardrail import Guardrail
from reconciler.kinds.tagging_policy import TaggingPolicy

OBJECT_KINDS: dict[str, ObjectKind] = {k.name: k for k in (TaggingPolicy(), Guardrail())}
# The one table a directory may name: the custom properties CSV, uploaded whole.
TABLE: TableKind = CustomProperties()
CONFIG_SCHEMA = "config.schema.json"


def names() -> list[str]:
    """Every kind a document may name, objects first."""
    return [*OBJECT_KINDS, TABLE.name]


def prunable() -> list[str]:
    return [name for name, kind in OBJECT_KINDS.items() if kind.prunable]


@contextmanager
def registered(kind: ObjectKind) -> Iterator[ObjectKind]:
    """A kind added for a while (tests; a plugin would add it once at start-up)."""
    if kind.name in names():
        raise ValueError(f"kind {kind.name} is already registered")
    OBJECT_KINDS[kind.name] = kind
    try:
        yield kind
    finally:
        del OBJECT_KINDS[kind.name]
