"""Canonical forms of desired and live objects, per kind, so that comparing them is exact.

- Only managed attributes count: the schema's properties minus tool-only ones (``kind``, ``id``,
  ``absent``, ``protect``). Unknown top-level live attributes (server-owned ``createdAt``...)
  are ignored.
- Unknown keys nested inside a managed attribute (``filters``, a ``tags`` entry) are kept
  aside as *extras*: they never make a difference, and are carried back into any PATCH of that
  attribute, so an update never erases what the tool does not model.
- Schema defaults fill missing nested keys on both sides. A top-level attribute missing on read
  is *unknown*: it is never defaulted and then overwritten.
- Set-like lists become frozensets; ``tags`` become a mapping keyed by ``key``; numbers compare
  as numbers (``100 == 100.0``) but never equal booleans or strings.
- Secrets are compared by fingerprint. An unset ``fromEnv`` variable without a default is
  unknown, not a change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.kinds.base import TOOL_ONLY, ObjectKind
from reconciler.model import SecretRef
from reconciler.schemas import load_schema, with_defaults

Path = tuple[str, ...]


class Unknown:
    """A value that cannot be known here; never a change."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unknown({self.reason!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(self.reason)


def fingerprint(value: str) -> str:
    """How a secret is shown and stored: never the value itself. ``""`` stays ``""``."""
    if value == "":
        return ""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


@dataclass
class Normalized:
    """Canonical managed attributes, plus what was set aside."""

    values: dict[str, Any]
    extras: dict[Path, dict[str, Any]] = field(default_factory=dict)  # unknown nested keys
    unknown: dict[str, str] = field(default_factory=dict)  # attribute -> why it is unknown
    secrets: dict[str, str] = field(default_factory=dict)  # attribute -> env var (desired side)
    invalid: dict[str, str] = field(default_factory=dict)  # attribute -> why its value is unusable


def managed_attributes(kind: ObjectKind) -> list[str]:
    props = load_schema(kind.schema)["properties"]
    return [p for p in props if p not in TOOL_ONLY]


def _is_set(kind: ObjectKind, path: Path) -> bool:
    specs = kind.set_fields
    if path in specs:
        return True
    # a "*" in a spec stands for any key at that place (filters.*.include)
    return len(path) == 3 and (path[0], "*", path[2]) in specs


def _keyed(kind: ObjectKind, path: Path) -> str | None:
    for name, key in kind.keyed_lists:
        if path == (name,):
            return key
    return None


def _canon(
    kind: ObjectKind, schema: Mapping[str, Any], value: Any, path: Path, spec: Path, n: Normalized
) -> Any:
    """``path`` names the node (``tags/[]/app_id``); ``spec`` its place in the schema
    (``tags/[]``). Unknown keys are set aside under ``path``."""
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is None:
            return {k: _canon(kind, {}, v, (*path, k), (*spec, k), n) for k, v in value.items()}
        out = {}
        for k, v in value.items():
            sub = props.get(k)
            if sub is not None:
                out[k] = _canon(kind, sub, v, (*path, k), (*spec, k), n)
            else:
                n.extras.setdefault(path, {})[k] = v
        return out
    if isinstance(value, list):
        if _is_set(kind, spec):
            return frozenset(value)
        key = _keyed(kind, spec)
        items = schema.get("items", {})
        item_spec = (*spec, "[]")
        if key is not None:
            keyed = {}
            for item in value:
                if isinstance(item, dict) and key in item:
                    name = str(item[key])
                    keyed[name] = _canon(kind, items, item, (*path, "[]", name), item_spec, n)
            return keyed
        return tuple(
            _canon(kind, items, v, (*path, "[]", str(i)), item_spec, n) for i, v in enumerate(value)
        )
    return value


def normalize_desired(
    kind: ObjectKind, attributes: Mapping[str, Any], env: Mapping[str, str]
) -> Normalized:
    n = Normalized({})
    props = load_schema(kind.schema)["properties"]
    for attr in managed_attributes(kind):
        if attr not in attributes:
            continue
        value = attributes[attr]
        if isinstance(value, SecretRef):
            n.secrets[attr] = value.env
            resolved = env.get(value.env, value.default)
            if resolved is None:
                n.values[attr] = Unknown(f"{value.env} not set")
                n.unknown[attr] = f"{value.env} not set"
            else:
                n.values[attr] = fingerprint(resolved)
                # say so now, not when apply meets the API's 400; never show the value
                problem = kind.secret_problem(attr, resolved)
                if problem:
                    n.invalid[attr] = f"{value.env} {problem}"
            continue
        if attr in kind.secret_fields and isinstance(value, str):
            n.values[attr] = fingerprint(value)
            continue
        n.values[attr] = _canon(kind, props[attr], value, (attr,), (attr,), n)
    return n


def normalize_live(kind: ObjectKind, attributes: Mapping[str, Any]) -> Normalized:
    n = Normalized({})
    props = load_schema(kind.schema)["properties"]
    for attr in managed_attributes(kind):
        if attr not in attributes:
            n.values[attr] = Unknown("not returned by the API")
            n.unknown[attr] = "not returned by the API"
            continue
        value = attributes[attr]
        if attr in kind.secret_fields:
            if isinstance(value, dict) and isinstance(value.get("fingerprint"), str):
                n.values[attr] = value["fingerprint"]  # from a snapshot: already masked
            else:
                n.values[attr] = fingerprint(value) if isinstance(value, str) else value
            continue
        if isinstance(value, dict | list):
            value = with_defaults(props[attr], value)
        n.values[attr] = _canon(kind, props[attr], value, (attr,), (attr,), n)
    return n


def equal(a: Any, b: Any) -> bool:
    """Equality of canonical values: numbers as numbers, but never booleans as numbers."""
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return True  # cannot be known: never a change
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def plain(value: Any) -> Any:
    """A canonical value as JSON data: sets sorted, unknowns as None."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in sorted(value.items())}
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, Unknown):
        return None
    return value


def state_fingerprint(values: Mapping[str, Any]) -> str:
    """A digest of canonical managed attributes: what a saved plan was computed from."""
    return plain_fingerprint(plain(dict(values)))


def plain_fingerprint(plain_values: Any) -> str:
    """``state_fingerprint`` of values already made ``plain`` (the plan keeps them too)."""
    data = json.dumps(plain_values, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()
