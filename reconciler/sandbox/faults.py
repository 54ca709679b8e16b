"""Fault injection and quirks, parsed from spec strings; per server, with per-org overrides.

Faults make answers fail (latency, 5xx, 429, a dropped connection); quirks make successful answers
differ in ways a robust client must tolerate. Both are off unless switched on. A fault spec is
comma-separated ``key=value``; ``script`` takes the values that follow it up to the next ``key=``::

    latency_ms=20,error_rate=0.1,throttle_rate=0.05,drop_rate=0.05,seed=7
    script=503,503,429,ok,drop
    gather=2

``gather=N`` holds the first N listings of each collection until N have arrived (10 s at
most), then answers them together: N concurrent runs list the same state, however loaded the
machine is.

Overrides are keyed by org: tests each get their own org, so a fault switched on by one test cannot
reach another.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field

from reconciler.sandbox import SandboxError

ERROR_CODES = (500, 502, 503)
SCRIPT_STEPS = frozenset({"ok", "drop", "429", "500", "502", "503", "504"})
RATE_KEYS = ("error_rate", "throttle_rate", "drop_rate")
GATHER_TIMEOUT_S = 10.0

QUIRKS: dict[str, str] = {
    "create_200": "POST answers 200 instead of 201",
    "other_type": "responses carry another `type` (tagging_policy, guardrail)",
    "missing_attribute": "`message` is missing from every object read",
    "server_fields": "objects carry server-owned attributes: createdAt, updatedAt, createdBy",
    "error_object": 'errors are {"error": "...", "error_code": "..."} instead of JSON:API',
    "error_text": "errors are plain text",
    "reorder": "lists come back reversed: objects, tags, allowedValues, filter and e-mail lists",
    "paginate": "lists come in pages of 2 with links.next",
}


class SpecError(SandboxError):
    """A fault or quirk spec that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class FaultSpec:
    latency_ms: int = 0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None
    script: tuple[str, ...] = ()
    gather: int = 0

    def describe(self) -> str:
        """The spec back as a string (the canonical form of what ``parse_faults`` read)."""
        parts = [f"latency_ms={self.latency_ms}"] if self.latency_ms else []
        parts += [f"{key}={getattr(self, key)}" for key in RATE_KEYS if getattr(self, key)]
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        if self.gather:
            parts.append(f"gather={self.gather}")
        if self.script:
            parts.append("script=" + ",".join(self.script))
        return ",".join(parts)


def parse_faults(spec: str) -> FaultSpec:
    numbers: dict[str, int] = {}
    rates: dict[str, float] = {}
    script: list[str] = []
    in_script = False
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        if "=" not in item:
            if not in_script:
                raise SpecError(f"fault spec: expected key=value, got {item!r}")
            script.append(_script_step(item))
            continue
        key, _, value = (part.strip() for part in item.partition("="))
        in_script = key == "script"
        if key in numbers or key in rates or (in_script and script):
            raise SpecError(f"fault spec: {key} given twice")
        if in_script:
            script.append(_script_step(value))
        elif key == "latency_ms":
            numbers[key] = _integer(key, value, maximum=60_000)
        elif key == "seed":
            numbers[key] = _integer(key, value, maximum=2**63)
        elif key == "gather":
            numbers[key] = _integer(key, value, maximum=100)
        elif key in RATE_KEYS:
            rates[key] = _rate(key, value)
        else:
            known = ", ".join(["latency_ms", *RATE_KEYS, "seed", "gather", "script"])
            raise SpecError(f"fault spec: unknown key {key!r} (known: {known})")
    faults = FaultSpec(
        latency_ms=numbers.get("latency_ms", 0),
        error_rate=rates.get("error_rate", 0.0),
        throttle_rate=rates.get("throttle_rate", 0.0),
        drop_rate=rates.get("drop_rate", 0.0),
        seed=numbers.get("seed"),
        script=tuple(script),
        gather=numbers.get("gather", 0),
    )
    if faults.error_rate + faults.throttle_rate > 1:
        raise SpecError("fault spec: error_rate + throttle_rate must not exceed 1")
    return faults


def _integer(key: str, value: str, *, maximum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SpecError(f"fault spec: {key} must be a whole number, got {value!r}") from None
    if not 0 <= number <= maximum:
        raise SpecError(f"fault spec: {key} must be between 0 and {maximum}, got {number}")
    return number


def _rate(key: str, value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise SpecError(f"fault spec: {key} must be a number, got {value!r}") from None
    if not 0.0 <= rate <= 1.0:  # also rejects nan
        raise SpecError(f"fault spec: {key} must be between 0 and 1, got {value}")
    return rate


def _script_step(value: str) -> str:
    step = value.lower()
    if step not in SCRIPT_STEPS:
        known = ", ".join(sorted(SCRIPT_STEPS))
        raise SpecError(f"fault spec: script step {value!r} is not one of {known}")
    return step


def parse_quirks(spec: object) -> frozenset[str]:
    """Quirk names: ``"a,b"`` or a list of names. Anything else (a number, a list holding one,
    a mapping: what a JSON body may carry) is a SpecError, never an exception of another kind."""
    if isinstance(spec, str):
        names: list[object] = list(spec.split(","))
    elif isinstance(spec, list | tuple | set | frozenset):
        names = list(spec)
    else:
        raise SpecError(f"quirks: expected a string or a list of names, got {_kind(spec)}")
    for name in names:
        if not isinstance(name, str):
            raise SpecError(f"quirks: every quirk is a name (a string), got {_kind(name)}")
    quirks = frozenset(str(name).strip() for name in names if str(name).strip())
    unknown = sorted(quirks - QUIRKS.keys())
    if unknown:
        raise SpecError(f"unknown quirk {unknown[0]!r} (known: {', '.join(QUIRKS)})")
    return quirks


def _kind(value: object) -> str:
    """What a JSON value is, in words (never its content: a body may hold anything)."""
    names = {bool: "a boolean", int: "a number", float: "a number", dict: "an object"}
    names.update({list: "a list", type(None): "null", str: "a string"})
    return names.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Decision:
    """What the faults make of one request."""

    latency_s: float = 0.0
    status: int | None = None  # answer this instead of running the request
    drop: bool = False  # run the request; if it succeeds, close the connection without an answer


class FaultState:
    """The moving part of a spec: its random sequence and what is left of its script."""

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        seed = spec.seed if spec.seed is not None else secrets.randbits(64)
        self._rng = random.Random(seed)
        self._script = deque(spec.script)
        self._lock = threading.Lock()
        self._gathering: dict[str, threading.Barrier] = {}
        self._gathered: dict[str, int] = {}

    def decide(self, *, is_write: bool, listing: str = "") -> Decision:
        """``listing``: the path of a collection being listed, else empty."""
        if self.spec.gather and listing:
            self._gather(listing)
        return self._decide(is_write)

    def _gather(self, path: str) -> None:
        """The first ``gather`` listings of a path wait for each other (the module's doc)."""
        with self._lock:
            seen = self._gathered[path] = self._gathered.get(path, 0) + 1
            if seen > self.spec.gather:
                return
            barrier = self._gathering.setdefault(path, threading.Barrier(self.spec.gather))
        with contextlib.suppress(threading.BrokenBarrierError):  # fewer came: answer anyway
            barrier.wait(timeout=GATHER_TIMEOUT_S)

    def _decide(self, is_write: bool) -> Decision:
        spec = self.spec
        latency = spec.latency_ms / 1000
        with self._lock:
            if self._script:
                step = self._script.popleft()
                if step == "drop":
                    return Decision(latency, drop=True)
                return Decision(latency, None if step == "ok" else int(step))
            draw = self._rng.random()
            if draw < spec.error_rate:
                return Decision(latency, self._rng.choice(ERROR_CODES))
            if draw < spec.error_rate + spec.throttle_rate:
                return Decision(latency, 429)
            drop = is_write and spec.drop_rate > 0 and self._rng.random() < spec.drop_rate
            return Decision(latency, drop=drop)


@dataclass(frozen=True)
class Behaviour:
    """The faults and quirks in force for one scope: the whole server, or one org."""

    faults: FaultSpec = field(default_factory=FaultSpec)
    quirks: frozenset[str] = frozenset()
    state: FaultState = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", FaultState(self.faults))


class Controls:
    """The server-wide behaviour and the per-org overrides, safe to change while serving."""

    def __init__(self, server: Behaviour | None = None) -> None:
        self.server = server if server is not None else Behaviour()
        self._orgs: dict[str, Behaviour] = {}
        self._lock = threading.Lock()

    def for_org(self, org: str) -> Behaviour:
        with self._lock:
            return self._orgs.get(org, self.server)

    def set_org(self, org: str, behaviour: Behaviour) -> None:
        with self._lock:
            self._orgs[org] = behaviour

    def reset_org(self, org: str) -> None:
        with self._lock:
            self._orgs.pop(org, None)
