"""Execute a Plan: stale check, ordering, bounded parallelism, read-back, events.

Apply never re-decides what to do: it performs the plan's changes as written. Creates and
updates run first, kind by kind in registry order, then deletes in reverse order, each phase
with at most ``parallelism`` writes in flight. A failure does not stop independent changes;
every change ends as exactly one event, passed to ``on_event`` and kept in the result, so the
summary counts what the event log holds. When ``stop`` is set (SIGINT/SIGTERM), no new write
starts, writes in flight get ``grace`` seconds, and what did not run is reported as skipped.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler import kinds
from reconciler.http.infracost import ApiClient, ApiError
from reconciler.kinds.base import ObjectKind
from reconciler.model import Change, Plan, Ref
from reconciler.normalize import (
    equal,
    normalize_desired,
    normalize_live,
)

Outcome = Literal[
    "created", "adopted", "updated", "deleted", "uploaded", "failed", "skipped", "interrupted"
]
APPLIED: frozenset[str] = frozenset({"created", "adopted", "updated", "deleted", "uploaded"})


@dataclass(frozen=True)
class Event:
    outcome: Outcome
    ref: Ref
    detail: str = ""
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass
class Result:
    events: list[Event] = field(default_factory=list)
    interrupted: bool = False

    def count(self, *outcomes: str) -> int:
        return sum(1 for e in self.events if e.outcome in outcomes)

    @property
    def applied(self) -> int:
        return self.count(*APPLIED)

    @property
    def failed(self) -> int:
        return self.count("failed", "interrupted")


# --- secrets --------------------------------------------------------------------------------


class _Unresolved(Exception):
    pass


def _resolve(send: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The attributes to send, with ``fromEnv`` references replaced by their values."""
    out: dict[str, Any] = {}
    for key, value in send.items():
        if isinstance(value, dict) and "fromEnv" in value and "fingerprint" in value:
            resolved = env.get(value["fromEnv"], value.get("default"))
            if resolved is None:
                raise _Unresolved(f"{value['fromEnv']} is not set")
            out[key] = resolved
        else:
            out[key] = value
    return out


# --- execution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    change: Change
    kind: ObjectKind


class Executor:
    def __init__(
        self,
        client: ApiClient,
        *,
        env: Mapping[str, str],
        parallelism: int = 4,
        stop: threading.Event | None = None,
        grace: float = 5.0,
        on_event: Callable[[Event], None] = lambda e: None,
        known_ids: Mapping[str, set[str]] | None = None,
    ) -> None:
        self.client = client
        self.env = env
        self.parallelism = max(1, parallelism)
        self.stop = stop if stop is not None else threading.Event()
        self.grace = grace
        self.on_event = on_event
        self._known = {k: set(v) for k, v in (known_ids or {}).items()}
        self._lock = threading.Lock()

    def run(self, plan: Plan, upload: Callable[[], Event] | None = None) -> Result:
        result = Result()
        order = list(kinds.OBJECT_KINDS.values())
        phases: list[list[_Job]] = []
        for kind in order:
            phases.append(
                [
                    _Job(c, kind)
                    for c in plan.changes
                    if c.ref.kind == kind.name and c.action in ("create", "update")
                ]
            )
        deletes = [
            [
                _Job(c, kind)
                for c in plan.changes
                if c.ref.kind == kind.name and c.action == "delete"
            ]
            for kind in reversed(order)
        ]
        for jobs in phases:
            self._phase(jobs, result)
        if upload is not None:
            if self.stop.is_set():
                ref = Ref(kinds.TABLE.name, "upload")
                self._emit(result, Event("skipped", ref, "interrupted before it started"))
            else:
                started = time.monotonic()
                event = upload()
                event = Event(
                    event.outcome,
                    event.ref,
                    event.detail,
                    event.warnings,
                    round(time.monotonic() - started, 3),
                )
                self._emit(result, event)
        for jobs in deletes:
            self._phase(jobs, result)
        result.interrupted = self.stop.is_set()
        return result

    def _emit(self, result: Result, event: Event) -> None:
        """Every change ends here, exactly once: in the result and in the event stream."""
        result.events.append(event)
        self.on_event(event)

    def _phase(self, jobs: list[_Job], result: Result) -> None:
        if not jobs:
            return
        if self.stop.is_set():
            for job in jobs:
                self._emit(
                    result, Event("skipped", job.change.ref, "interrupted before it started")
                )
            return
        todo: queue.Queue[_Job] = queue.Queue()
        for job in jobs:
            todo.put(job)
        done: queue.Queue[tuple[_Job, Event]] = queue.Queue()
        in_flight: dict[int, _Job] = {}

        def worker() -> None:
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                if self.stop.is_set():
                    done.put(
                        (job, Event("skipped", job.change.ref, "interrupted before it started"))
                    )
                    continue
                key = id(job)
                with self._lock:
                    in_flight[key] = job
                event = self._perform(job)
                with self._lock:  # atomically: never both in flight and done, nor neither
                    in_flight.pop(key, None)
                    done.put((job, event))

        # daemon threads: an interrupted run exits after the grace period, whatever is in flight
        threads = [
            threading.Thread(target=worker, daemon=True, name=f"apply-{i}")
            for i in range(min(self.parallelism, len(jobs)))
        ]
        for t in threads:
            t.start()
        finished = 0
        deadline: float | None = None
        while finished < len(jobs):
            if self.stop.is_set() and deadline is None:
                deadline = time.monotonic() + self.grace
            try:
                _, event = done.get(timeout=0.05)
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                continue
            finished += 1
            self._emit(result, event)
        if finished < len(jobs):  # the grace period ran out: say what is unknown
            arrived: list[Event] = []
            with self._lock:  # what finished meanwhile, then what is still in flight
                while True:
                    try:
                        arrived.append(done.get_nowait()[1])
                    except queue.Empty:
                        break
                stuck = list(in_flight.values())
                in_flight.clear()
            for event in arrived:
                self._emit(result, event)
            for job in stuck:
                event = Event(
                    "interrupted",
                    job.change.ref,
                    "in flight when interrupted: outcome unknown; plan again to see",
                )
                self._emit(result, event)
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    break
                self._emit(
                    result, Event("skipped", job.change.ref, "interrupted before it started")
                )

    def _perform(self, job: _Job) -> Event:
        change, kind = job.change, job.kind
        started = time.monotonic()
        try:
            if change.action == "create":
                event = self._create(change, kind)
            elif change.action == "update":
                event = self._update(change, kind)
            else:
                event = self._delete(change, kind)
        except _Unresolved as exc:
            event = Event("failed", change.ref, f"not sent: {exc}")
        except ApiError as exc:
            event = Event("failed", change.ref, str(exc))
        except Exception as exc:  # a bug must not hide the other changes' outcomes
            event = Event("failed", change.ref, f"internal error: {type(exc).__name__}: {exc}")
        return Event(
            event.outcome,
            event.ref,
            event.detail,
            event.warnings,
            round(time.monotonic() - started, 3),
        )

    def _create(self, change: Change, kind: ObjectKind) -> Event:
        attributes = _resolve(change.send or {}, self.env)
        want = normalize_desired(kind, attributes, self.env).values

        def same(live_attributes: Mapping[str, Any]) -> bool:
            have = normalize_live(kind, live_attributes).values
            return all(equal(have.get(k), v) for k, v in want.items())

        with self._lock:
            known = set(self._known.get(kind.name, set()))
        created = self.client.create(kind, attributes, known_ids=known, same=same)
        with self._lock:
            self._known.setdefault(kind.name, set()).add(created.id)
        ref = Ref(kind.name, change.ref.name, created.id)
        outcome: Outcome = "adopted" if getattr(created, "adopted", False) else "created"
        detail = "the answer was lost; found it by listing" if outcome == "adopted" else ""
        return Event(outcome, ref, detail, self._verify(kind, created.id, attributes))

    def _update(self, change: Change, kind: ObjectKind) -> Event:
        assert change.ref.id is not None
        attributes = _resolve(change.send or {}, self.env)
        self.client.update(kind, change.ref.id, attributes)
        return Event("updated", change.ref, "", self._verify(kind, change.ref.id, attributes))

    def _delete(self, change: Change, kind: ObjectKind) -> Event:
        assert change.ref.id is not None
        gone = self.client.delete(kind, change.ref.id)
        return Event("deleted", change.ref, "" if gone else "already gone")

    def _verify(self, kind: ObjectKind, object_id: str, sent: Mapping[str, Any]) -> tuple[str, ...]:
        """Read the object back; a difference from what was sent is a warning naming the field."""
        got = self.client.get(kind, object_id)
        if got is None:
            return ("not found when read back",)
        want = normalize_desired(kind, sent, self.env).values
        have = normalize_live(kind, got.attributes).values
        return tuple(
            f"{attr} reads back differently from what was sent"
            for attr, value in want.items()
            if not equal(have.get(attr), value)
        )
