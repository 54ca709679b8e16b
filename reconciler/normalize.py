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
  as numbers (``100 == 100.0``) but never equal booleans or strings, in sets too.
- Secrets are compared by fingerprint. An unset ``fromEnv`` variable without a default is
  unknown, not a change. Where secrets are not available at all (a plan against a snapshot,
  ``--no-secrets``) every ``fromEnv`` value is unknown, never its default: only the reference
  is compared, with the one the snapshot recorded (``{"fingerprint": ..., "fromEnv": NAME}``).
- ``normalize_live`` never fails on odd live data: a value it cannot put in canonical form
  without losing something (a list or an object in a set of values, ``true`` beside ``1`` in
  one, a keyed entry without its key or with a repeated one, a secret that is not a string,
  nesting deeper than ``MAX_DEPTH``) becomes ``Unreadable`` and is named in
  ``Normalized.unreadable`` (field -> why); the planner sets that object aside.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from reconciler import secrets
from reconciler.kinds.base import TOOL_ONLY, ObjectKind
from reconciler.model import SecretRef
from reconciler.schemas import load_schema

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


class Unreadable:
    """A live value that cannot be compared (see ``Normalized.unreadable``): equal only to the
    same unreadable value. Never shown: as data it is ``why`` and a digest of the value."""

    __slots__ = ("digest", "why")

    def __init__(self, why: str, digest: str = "") -> None:
        self.why = why
        self.digest = digest

    def __repr__(self) -> str:
        return f"Unreadable({self.why!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Unreadable) and other.why == self.why and other.digest == self.digest
        )

    def __hash__(self) -> int:
        return hash((self.why, self.digest))


SECRET_NOT_A_STRING = "a secret that is not a string"
MAX_DEPTH = 200  # the deepest nesting of live data accepted (an API answer, a snapshot, a value)


def nested_deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest more than ``limit`` levels (``[1]`` is 1 level), found
    without recursion: the check that keeps recursive code from meeting a RecursionError.
    One level at a time: each container is visited once, and no scalar is kept."""
    if not isinstance(value, dict | list):
        return limit < 0
    level = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        below = []
        for node in level:
            items = node.values() if isinstance(node, dict) else node
            if len(items) > 16 and _SCALAR_TYPES.issuperset(map(type, items)):
                continue  # nothing below (a list of 100,000 values): one pass in C
            for x in items:
                if isinstance(x, dict | list):
                    below.append(x)
        level = below
        depth += 1
    return False


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def fingerprint(value: str) -> str:
    """How a secret is shown and stored: never the value itself. ``""`` stays ``""``."""
    if value == "":
        return ""
    # surrogatepass: a lone surrogate (odd live data, an undecodable environment) still hashes
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]


@dataclass
class Normalized:
    """Canonical managed attributes, plus what was set aside."""

    values: dict[str, Any]
    extras: dict[Path, dict[str, Any]] = field(default_factory=dict)  # unknown nested keys
    unknown: dict[str, str] = field(default_factory=dict)  # attribute -> why it is unknown
    secrets: dict[str, str] = field(default_factory=dict)  # attribute -> env var (desired side)
    invalid: dict[str, str] = field(default_factory=dict)  # attribute -> why its value is unusable
    unreadable: dict[str, str] = field(default_factory=dict)  # live field -> why it cannot be read
    # Secrets not available here (a plan against a snapshot, --no-secrets): attribute -> env
    # var on the desired side; on the live side, the env var a snapshot saw the value come from.
    references: dict[str, str] = field(default_factory=dict)


class _Odd(Exception):
    """A live value that has no faithful canonical form, at ``path``."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(why)
        self.path = path
        self.why = why


def field_label(path: Path) -> str:
    """``("tags", "[]", "app", "allowedValues")`` -> ``tags[app].allowedValues``."""
    out = ""
    parts = iter(path)
    for part in parts:
        if part == "[]":
            out += f"[{next(parts, '')}]"
        else:
            out += f".{part}" if out else part
    return out


def managed_attributes(kind: ObjectKind) -> list[str]:
    return list(_managed(kind.schema))


@cache
def _managed(schema: str) -> tuple[str, ...]:
    return tuple(p for p in load_schema(schema)["properties"] if p not in TOOL_ONLY)


class _Place:
    """A place in a kind's schema (``spec``: ``tags/[]``), with what ``_canon`` asks there,
    worked out once per kind rather than at every node of every object: its properties and
    their places, whether its lists are sets or keyed, the defaults it fills in."""

    __slots__ = ("defaults", "is_set", "items", "key", "props", "rules", "schema", "spec")

    def __init__(self, rules: _Rules, schema: Mapping[str, Any], spec: Path) -> None:
        self.rules = rules
        self.schema = schema
        self.spec = spec
        self.is_set = _is_set(rules.sets, spec)
        self.key = rules.keyed.get(spec)
        props = schema.get("properties")
        self.props: dict[str, _Place] | None = None
        self.defaults: tuple[tuple[str, _Place, Any, Any], ...] = ()
        if props is not None:
            places = {k: _Place(rules, sub, (*spec, k)) for k, sub in props.items()}
            self.props = places
            self.defaults = tuple(
                (k, places[k], sub["default"], _shared_default(places[k], sub["default"]))
                for k, sub in props.items()
                if "default" in sub
            )
        self.items: _Place | None = None

    def item(self) -> _Place:
        """The place of this list's elements."""
        if self.items is None:
            self.items = _Place(self.rules, self.schema.get("items", {}), (*self.spec, "[]"))
        return self.items

    def below(self, key: str) -> _Place:
        """The place of ``key`` in a mapping whose schema names no properties (any key: rare,
        and not kept, so that odd data cannot grow the table)."""
        return _Place(self.rules, {}, (*self.spec, key))


_NOT_SHARED = object()


def _shared_default(place: _Place, default: Any) -> Any:
    """The canonical form of a default, made once, where it can be handed out again: a scalar,
    a frozenset, or a mapping of those (copied at each use). Otherwise ``_NOT_SHARED``."""
    scratch = Normalized({})
    try:
        value = _canon(place, default, place.spec, scratch)
    except _Odd:
        return _NOT_SHARED
    if scratch.extras or isinstance(value, tuple):
        return _NOT_SHARED
    if isinstance(value, dict) and any(isinstance(v, dict | tuple) for v in value.values()):
        return _NOT_SHARED
    return value


@dataclass(frozen=True)
class _Rules:
    sets: frozenset[Path]
    keyed: dict[Path, str]


def _is_set(specs: frozenset[Path], path: Path) -> bool:
    if path in specs:
        return True
    # a "*" in a spec stands for any key at that place (filters.*.include)
    return len(path) == 3 and (path[0], "*", path[2]) in specs


@cache
def _places(
    schema: str, set_fields: tuple[Path, ...], keyed_lists: tuple[tuple[str, str], ...]
) -> dict[str, _Place]:
    """The place of each managed attribute of a kind (keyed by what ``_canon`` depends on)."""
    rules = _Rules(frozenset(set_fields), {(name,): key for name, key in reversed(keyed_lists)})
    props = load_schema(schema)["properties"]
    return {attr: _Place(rules, props[attr], (attr,)) for attr in _managed(schema)}


def _places_of(kind: ObjectKind) -> dict[str, _Place]:
    return _places(kind.schema, tuple(kind.set_fields), tuple(kind.keyed_lists))


def _canon(place: _Place, value: Any, path: Path, n: Normalized) -> Any:
    """``path`` names the node (``tags/[]/app_id``); ``place`` its place in the schema
    (``tags/[]``). Unknown keys are set aside under ``path``; missing keys get their schema
    default (as ``schemas.with_defaults`` fills them), in the same walk."""
    if isinstance(value, dict):
        props = place.props
        if props is None:
            return {k: _canon(place.below(k), v, (*path, k), n) for k, v in value.items()}
        out: dict[str, Any] = {}
        for k, v in value.items():
            sub = props.get(k)
            if sub is None:
                n.extras.setdefault(path, {})[k] = v
            elif isinstance(v, list) and sub.is_set:
                out[k] = _set(v, (*path, k))  # the most common list, without a call of _canon
            elif isinstance(v, dict | list):
                out[k] = _canon(sub, v, (*path, k), n)
            else:
                out[k] = v  # a scalar is its own canonical form
        if len(out) < len(props):
            for k, sub, default, shared in place.defaults:
                if k not in out:
                    if shared is _NOT_SHARED:
                        out[k] = _canon(sub, default, (*path, k), n)
                    else:  # a fresh mapping of immutable values: what _canon would build
                        out[k] = dict(shared) if type(shared) is dict else shared
        return out
    if isinstance(value, list):
        if place.is_set:
            return _set(value, path)
        key = place.key
        items = place.item()
        if key is not None:
            keyed = {}
            for i, item in enumerate(value):
                if not isinstance(item, dict) or key not in item:
                    raise _Odd((*path, "[]", str(i)), f"an entry without {key}")
                name = str(item[key])
                if name in keyed:
                    raise _Odd((*path, "[]", name), f"{key} {name!r} is repeated")
                keyed[name] = _canon(items, item, (*path, "[]", name), n)
            return keyed
        return tuple(_canon(items, v, (*path, "[]", str(i)), n) for i, v in enumerate(value))
    return value


def _set(value: list[Any], path: Path) -> frozenset[Any]:
    """A set-like list as a frozenset of its values, which must be scalars (they are strings
    in every schema), and never ``true`` beside ``1`` (a frozenset would keep one of them)."""
    try:
        members = frozenset(value)
    except TypeError:
        odd = next(x for x in value if isinstance(x, dict | list))
        what = "an object" if isinstance(odd, dict) else "a list"
        raise _Odd(path, f"a set of values holds {what}") from None
    if _has_bool(members) and len(_typed(members)) != len(set(map(_typed_member, value))):
        raise _Odd(path, "a set of values holds true or false beside 1 or 0")
    return members


def _typed_member(x: Any) -> tuple[bool, Any]:
    return (type(x) is bool, x)


def _typed(s: frozenset[Any]) -> frozenset[tuple[bool, Any]]:
    """Set members tagged with whether they are booleans: ``{1} != {True}`` as typed sets."""
    return frozenset(map(_typed_member, s))


def _has_bool(s: frozenset[Any]) -> bool:
    return True in s or False in s  # hash lookups; also true for 1, 0, 1.0: then look closer


def set_minus(a: frozenset[Any], b: frozenset[Any]) -> frozenset[Any]:
    """The members of ``a`` not in ``b``, booleans never taken for numbers."""
    if not (_has_bool(a) and _has_bool(b)):
        return a - b
    return frozenset(x for _, x in _typed(a) - _typed(b))


def sort_key(x: Any) -> tuple[int, Any, str]:
    """A total order on canonical set members of any type: strings, booleans, numbers, rest."""
    if isinstance(x, str):
        return (0, x, "")
    if isinstance(x, bool):
        return (1, int(x), "")
    if isinstance(x, int | float):
        return (2, 0, repr(x)) if x != x else (2, x, "")  # NaN is not ordered: by its text
    return (3, 0, json.dumps(x, sort_keys=True, default=str))


def sorted_values(values: frozenset[Any]) -> list[Any]:
    """A set's members in order: plain order for strings, ``sort_key`` for anything else."""
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=sort_key)


def normalize_desired(
    kind: ObjectKind,
    attributes: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    secrets_available: bool = True,
) -> Normalized:
    """``secrets_available=False``: a ``fromEnv`` value is unknown, never its default (a plan
    against a snapshot holds no secrets); the diff compares the reference instead."""
    n = Normalized({})
    places = _places_of(kind)
    for attr in _managed(kind.schema):
        if attr not in attributes:
            continue
        value = attributes[attr]
        if isinstance(value, SecretRef):
            n.secrets[attr] = value.env
            if not secrets_available:
                n.values[attr] = Unknown(f"{value.env} not available here")
                n.references[attr] = value.env
                continue
            resolved = secrets.from_env(env, value.env, value.default)
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
        n.values[attr] = _canon(places[attr], value, (attr,), n)
    return n


def normalize_live(kind: ObjectKind, attributes: Mapping[str, Any]) -> Normalized:
    """Total: odd data becomes ``Unreadable`` values named in ``unreadable``, never an error."""
    n = Normalized({})
    places = _places_of(kind)
    for attr in _managed(kind.schema):
        if attr not in attributes:
            n.values[attr] = Unknown("not returned by the API")
            n.unknown[attr] = "not returned by the API"
            continue
        value = attributes[attr]
        if attr in kind.secret_fields:
            if isinstance(value, dict) and isinstance(value.get("fingerprint"), str):
                n.values[attr] = value["fingerprint"]  # from a snapshot: already masked
                if isinstance(value.get("fromEnv"), str):
                    n.references[attr] = value["fromEnv"]
            elif isinstance(value, dict | list):  # may hold the secret: never shown nor hashed
                _unreadable(n, (attr,), SECRET_NOT_A_STRING, None)
            else:
                n.values[attr] = fingerprint(value) if isinstance(value, str) else value
            continue
        if isinstance(value, dict | list) and nested_deeper_than(value, MAX_DEPTH):
            _unreadable(n, (attr,), f"nested more than {MAX_DEPTH} levels deep", None)
            continue
        try:
            n.values[attr] = _canon(places[attr], value, (attr,), n)
        except _Odd as odd:
            # what this attribute had set aside is moot (every path it sets aside starts with it)
            n.extras = {path: extra for path, extra in n.extras.items() if path[0] != attr}
            _unreadable(n, odd.path, odd.why, attributes[attr])
    return n


def _unreadable(n: Normalized, path: Path, why: str, raw: Any) -> None:
    """Record a live value that cannot be compared: its attribute becomes ``Unreadable``."""
    digest = ""
    if raw is not None:
        data = json.dumps(raw, sort_keys=True, default=str)  # ASCII: surrogates are escapes
        digest = "sha256:" + hashlib.sha256(data.encode("ascii")).hexdigest()[:16]
    n.values[path[0]] = Unreadable(why, digest)
    n.unreadable[field_label(path)] = why


_PLAIN = frozenset({str, int, float, type(None)})


def equal(a: Any, b: Any) -> bool:
    """Equality of canonical values: numbers as numbers, but never booleans as numbers (in sets
    neither); an unreadable value equals only the same unreadable value."""
    kind = type(a)
    if kind is type(b):
        if kind in _PLAIN:  # the common case, first
            return bool(a == b)
        if kind is dict:
            if a.keys() != b.keys():
                return False
            for k, v in a.items():  # noqa: SIM110 (no generator: called for every object)
                if not equal(v, b[k]):
                    return False
            return True
        if kind is frozenset:  # as below, without the isinstance checks on the way
            return a == b and (not (_has_bool(a) and _has_bool(b)) or _typed(a) == _typed(b))
        if kind is bool:
            return bool(a == b)
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return True  # cannot be known: never a change
    if isinstance(a, Unreadable) or isinstance(b, Unreadable):
        return isinstance(a, Unreadable) and a.__eq__(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, frozenset) and isinstance(b, frozenset):
        return a == b and (not (_has_bool(a) and _has_bool(b)) or _typed(a) == _typed(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def plain(value: Any) -> Any:
    """A canonical value as JSON data: sets sorted, unknowns as None, unreadable values as
    what made them so and a digest (never the value: it may be a secret's)."""
    if isinstance(value, frozenset):
        return sorted_values(value)
    if isinstance(value, Unreadable):
        return {"unreadable": value.why, "digest": value.digest}
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
