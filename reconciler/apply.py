"""Execute a Plan: stale check, ordering, bounded parallelism, read-back, events.

Apply never re-decides what to do: it performs the plan's changes as written. Creates and
updates run first, kind by kind in registry order, then deletes in reverse order, each phase
with at most ``parallelism`` writes in flight. A failure does not stop independent changes;
every change ends as exactly one event, passed to ``on_event`` and kept in the result, so the
summary counts what the event log holds. When ``stop`` is set (SIGINT/SIGTERM), no new write
starts, writes in flight get ``grace`` seconds, and what did not run is reported as skipped.

Concurrent runs on one org (CI and a laptop, two directories) converge although the API has no
lock and no idempotency key: creates are resolved against a fresh listing of their kind (once
per batch, at most every ``RESOLVE_SECONDS``, and at the end of the phase). Of the new objects
that share a created name and equal the desired object, every run keeps the lowest id (ids
compared case-insensitively as strings) and deletes the others, its own or another run's; a 404
on such a delete is success. All runs compute the same winner, so they converge. A run whose
own object lost reports ``adopted`` ("lost a race, adopted id ..."); a new object of that name
with other content is a conflict: reported as a failure, never deleted.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from reconciler import kinds, secrets
from reconciler.http.infracost import ApiClient, ApiError, OutcomeUnknown
from reconciler.kinds.base import ObjectKind
from reconciler.model import Change, LiveObject, Plan, Ref
from reconciler.normalize import (
    equal,
    managed_attributes,
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
            resolved = secrets.from_env(env, value["fromEnv"], value.get("default"))
            if resolved is None:
                raise _Unresolved(f"{value['fromEnv']} is not set")
            secrets.register(resolved)  # sent: an API may echo it in an error
            out[key] = resolved
        else:
            out[key] = value
    return out


# --- execution ---------------------------------------------------------------------------------

# Creates are resolved against a listing of their kind at most this often, and at the end of
# their phase: one GET per second of creates, not one per create, with events still streaming.
RESOLVE_SECONDS = 1.0


@dataclass(frozen=True)
class _Job:
    change: Change
    kind: ObjectKind


@dataclass(frozen=True)
class _Made:
    """A create that landed, or may have: reported once a listing has resolved it (and read it
    back: the listing is the read-back of creates)."""

    event: Event  # what is reported when no other new object shares its name
    own: str | None  # the id it made; None: its answer was lost and several new objects match
    differences: Callable[[Mapping[str, Any]], tuple[str, ...]]  # from the desired object

    def same(self, live_attributes: Mapping[str, Any]) -> bool:
        try:
            return not self.differences(live_attributes)
        except Exception:  # an object that cannot be compared is never taken for a copy
            return False


@dataclass(frozen=True)
class _Verdict:
    """What a listing says of one create: the id kept, the duplicates to delete, the conflicts."""

    made: _Made
    keep: LiveObject | None
    delete: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    own_listed: bool = True


def _id_order(object_id: str) -> tuple[str, str]:
    """The winner rule every run computes alike: the lowest id, case-insensitively."""
    return (object_id.lower(), object_id)


def _ids(ids: Collection[str]) -> str:
    return ", ".join(ids)


def _skipped(job: _Job) -> Event:
    return Event("skipped", job.change.ref, "interrupted before it started")


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
        resolve_every: float = RESOLVE_SECONDS,
    ) -> None:
        self.client = client
        self.env = env
        self.parallelism = max(1, parallelism)
        self.stop = stop if stop is not None else threading.Event()
        self.grace = grace
        self.on_event = on_event
        self.resolve_every = resolve_every
        self._known = {k: set(v) for k, v in (known_ids or {}).items()}
        # the ids the plan saw: never duplicates of a create, never deleted by the resolution
        self._planned = {k: {i.lower() for i in v} for k, v in (known_ids or {}).items()}
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
                self._emit(result, _skipped(job))
            return
        kind = jobs[0].kind
        todo: queue.Queue[_Job] = queue.Queue()
        for job in jobs:
            todo.put(job)
        done: queue.Queue[tuple[_Job, Event | _Made]] = queue.Queue()
        in_flight: dict[int, _Job] = {}

        def worker() -> None:
            while True:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                if self.stop.is_set():
                    done.put((job, _skipped(job)))
                    continue
                key = id(job)
                with self._lock:
                    in_flight[key] = job
                outcome = self._perform(job)
                with self._lock:  # atomically: never both in flight and done, nor neither
                    in_flight.pop(key, None)
                    done.put((job, outcome))

        # daemon threads: an interrupted run exits after the grace period, whatever is in flight
        threads = [
            threading.Thread(target=worker, daemon=True, name=f"apply-{i}")
            for i in range(min(self.parallelism, len(jobs)))
        ]
        for t in threads:
            t.start()
        made: list[_Made] = []  # creates waiting for the next listing
        next_listing = 0.0  # the first create is resolved at once, then at most every second
        finished = 0
        deadline: float | None = None
        while finished < len(jobs):
            if self.stop.is_set() and deadline is None:
                deadline = time.monotonic() + self.grace
            try:
                _, outcome = done.get(timeout=0.05)
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    break
            else:
                finished += 1
                if isinstance(outcome, _Made):
                    made.append(outcome)
                else:
                    self._emit(result, outcome)
            if made and (finished == len(jobs) or time.monotonic() >= next_listing):
                self._resolve(kind, made, result)
                made = []
                next_listing = time.monotonic() + self.resolve_every
        if finished < len(jobs):  # the grace period ran out: say what is unknown
            arrived: list[Event | _Made] = []
            with self._lock:  # what finished meanwhile, then what is still in flight
                while True:
                    try:
                        arrived.append(done.get_nowait()[1])
                    except queue.Empty:
                        break
                stuck = list(in_flight.values())
                in_flight.clear()
            for outcome in arrived:
                if isinstance(outcome, _Made):
                    made.append(outcome)
                else:
                    self._emit(result, outcome)
            if made:
                self._resolve(kind, made, result)
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
                self._emit(result, _skipped(job))

    def _perform(self, job: _Job) -> Event | _Made:
        change, kind = job.change, job.kind
        started = time.monotonic()
        outcome: Event | _Made
        try:
            if change.action == "create":
                outcome = self._create(change, kind)
            elif change.action == "update":
                outcome = self._update(change, kind)
            else:
                outcome = self._delete(change, kind)
        except _Unresolved as exc:
            outcome = Event("failed", change.ref, f"not sent: {exc}")
        except ApiError as exc:
            outcome = Event("failed", change.ref, str(exc))
        except Exception as exc:  # a bug must not hide the other changes' outcomes
            outcome = Event("failed", change.ref, f"internal error: {type(exc).__name__}: {exc}")
        seconds = round(time.monotonic() - started, 3)
        if isinstance(outcome, _Made):
            return replace(outcome, event=replace(outcome.event, seconds=seconds))
        return replace(outcome, seconds=seconds)

    def _create(self, change: Change, kind: ObjectKind) -> _Made:
        attributes = _resolve(change.send or {}, self.env)
        differences = self._differences(kind, attributes)
        with self._lock:
            known = set(self._known.get(kind.name, set()))
        try:
            created = self.client.create(
                kind, attributes, known_ids=known, same=lambda live: not differences(live)
            )
        except OutcomeUnknown as exc:
            if not exc.candidates:
                raise
            # the answer was lost and several new objects equal this one: concurrent runs made
            # the same object; the listing that resolves creates decides which one is kept
            return _Made(Event("adopted", change.ref, str(exc)), None, differences)
        with self._lock:
            self._known.setdefault(kind.name, set()).add(created.id)
        ref = Ref(kind.name, change.ref.name, created.id)
        outcome: Outcome = "adopted" if getattr(created, "adopted", False) else "created"
        detail = "the answer was lost; found it by listing" if outcome == "adopted" else ""
        return _Made(Event(outcome, ref, detail), created.id, differences)

    def _update(self, change: Change, kind: ObjectKind) -> Event:
        assert change.ref.id is not None
        attributes = _resolve(change.send or {}, self.env)
        answer = self.client.update(kind, change.ref.id, attributes)
        warnings = self._verify(kind, change.ref.id, attributes, answer)
        return Event("updated", change.ref, "", warnings)

    def _delete(self, change: Change, kind: ObjectKind) -> Event:
        assert change.ref.id is not None
        gone = self.client.delete(kind, change.ref.id)
        return Event("deleted", change.ref, "" if gone else "already gone")

    def _verify(
        self, kind: ObjectKind, object_id: str, sent: Mapping[str, Any], answer: LiveObject
    ) -> tuple[str, ...]:
        """Compare the object as written with what was sent; a difference is a warning naming
        the field. An answer that carries the whole object is the object: it is read back only
        when the answer left out a managed attribute."""
        got: LiveObject | None = answer
        if not all(attr in answer.attributes for attr in managed_attributes(kind)):
            got = self.client.get(kind, object_id)
        if got is None:
            return ("not found when read back",)
        return self._differences(kind, sent)(got.attributes)

    def _differences(
        self, kind: ObjectKind, sent: Mapping[str, Any]
    ) -> Callable[[Mapping[str, Any]], tuple[str, ...]]:
        """Compares live attributes with what was sent, normalized: a warning per field that
        differs (none: the live object equals the desired one)."""
        want = normalize_desired(kind, sent, self.env).values

        def differences(live_attributes: Mapping[str, Any]) -> tuple[str, ...]:
            have = normalize_live(kind, live_attributes).values
            return tuple(
                f"{attr} reads back differently from what was sent"
                for attr, value in want.items()
                if not equal(have.get(attr), value)
            )

        return differences

    # --- concurrent runs: resolving creates against a listing ---

    def _resolve(self, kind: ObjectKind, made: list[_Made], result: Result) -> None:
        """List the kind once; for every name created, keep the lowest id of the new objects that
        equal the desired object, delete the others, and report each create once."""
        try:
            live = self.client.list(kind)
        except Exception as exc:  # an ApiError, or a bug: every create still ends as one event
            why = f"the listing that checks for duplicates made by concurrent runs failed ({exc})"
            if not isinstance(exc, ApiError):
                why = f"internal error: {type(exc).__name__}: {exc}"
            for m in made:
                self._emit(result, _unchecked(m, why))
            return
        planned = self._planned.get(kind.name, set())
        named: dict[str, list[LiveObject]] = defaultdict(list)
        for obj in live:
            if obj.id.lower() not in planned:
                named[str(obj.attributes.get("name", ""))].append(obj)
        verdicts: list[_Verdict] = []
        for m in made:
            try:
                verdicts.append(self._judge(kind, m, named.get(m.event.ref.name, [])))
            except ApiError as exc:
                why = f"reading it back to check for duplicates failed ({exc})"
                self._emit(result, _unchecked(m, why))
            except Exception as exc:  # a bug must not hide the other changes' outcomes
                self._emit(result, _unchecked(m, f"internal error: {type(exc).__name__}: {exc}"))
        doomed = sorted({i for v in verdicts for i in v.delete}, key=_id_order)
        failures = self._delete_duplicates(kind, doomed)
        for v in verdicts:
            try:
                event = _settle(kind, v, failures)
            except Exception as exc:  # a bug must not hide the other changes' outcomes
                event = _unchecked(v.made, f"internal error: {type(exc).__name__}: {exc}")
            self._emit(result, event)

    def _judge(self, kind: ObjectKind, m: _Made, objects: list[LiveObject]) -> _Verdict:
        own = m.own.lower() if m.own is not None else None
        objects = list(objects)
        own_listed = own is None or any(o.id.lower() == own for o in objects)
        if m.own is not None and not own_listed:
            # not listed: deleted as a duplicate by another run, or hidden by a page boundary
            # that moved while concurrent deletes shifted the list; ask for it
            got = self.client.get(kind, m.own)
            if got is not None:
                objects.append(got)
                own_listed = True
        alike = [o for o in objects if o.id.lower() == own or m.same(o.attributes)]
        conflicts = tuple(o.id for o in objects if o not in alike)
        if not alike:
            return _Verdict(m, None, (), conflicts, own_listed)
        keep = min(alike, key=lambda o: _id_order(o.id))
        delete = tuple(sorted((o.id for o in alike if o is not keep), key=_id_order))
        return _Verdict(m, keep, delete, conflicts, own_listed)

    def _delete_duplicates(self, kind: ObjectKind, ids: list[str]) -> dict[str, str]:
        """Delete duplicates, ``parallelism`` at a time; a 404 is success (another run was first).
        Returns the reason of each delete that failed."""
        failures: dict[str, str] = {}

        def delete(object_id: str) -> None:
            try:
                self.client.delete(kind, object_id)
            except ApiError as exc:
                failures[object_id] = str(exc)
            except Exception as exc:  # a bug must not hide the other outcomes
                failures[object_id] = f"internal error: {type(exc).__name__}: {exc}"

        if ids:
            with ThreadPoolExecutor(min(self.parallelism, len(ids)), "dedupe") as pool:
                list(pool.map(delete, ids))
        return failures


def _unchecked(m: _Made, why: str) -> Event:
    """A create that could not be resolved: it may have a duplicate; plan again shows it."""
    event = m.event
    if m.own is None:
        return Event("failed", event.ref, f"{event.detail}; {why}", event.warnings, event.seconds)
    detail = f"created (id {m.own}), but {why}; plan again to see whether it has a duplicate"
    return Event("failed", event.ref, detail, event.warnings, event.seconds)


def _settle(kind: ObjectKind, v: _Verdict, failures: Mapping[str, str]) -> Event:
    """The one event of a resolved create; its warnings compare the kept object, as listed,
    with what was sent."""
    m, event = v.made, v.made.event
    name, own, seconds = event.ref.name, m.own, event.seconds
    if v.keep is None:
        if own is None:
            detail = f"{event.detail}; no new object equals it any more"
        else:
            detail = f"created (id {own}), but it is no longer listed and no new object equals it"
        return Event("failed", event.ref, _with_conflicts(kind, name, detail, v), (), seconds)
    keep = v.keep.id
    ref = Ref(kind.name, name, keep)
    warnings = m.differences(v.keep.attributes)
    outcome: Outcome = event.outcome
    clauses: list[str] = []
    if own is None:
        outcome = "adopted"
        clauses.append(
            f"the answer was lost and concurrent runs made the same object; adopted id {keep}"
        )
    elif keep.lower() == own.lower():
        if event.detail:
            clauses.append(event.detail)
    else:
        outcome = "adopted"
        fate = "deleted as a duplicate" if v.own_listed else "already deleted by a concurrent run"
        clauses.append(f"lost a race, adopted id {keep} (its own id {own} {fate})")
    removed = [
        i for i in v.delete if i not in failures and (own is None or i.lower() != own.lower())
    ]
    if removed:
        noun = "duplicate" if len(removed) == 1 else "duplicates"
        clauses.append(
            f"deleted {len(removed)} {noun} made by a concurrent run (id {_ids(removed)})"
        )
    failed = [i for i in v.delete if i in failures]
    if failed:
        reasons = "; ".join(f"id {i}: {failures[i]}" for i in failed)
        clauses.append(f"deleting the duplicates made by concurrent runs failed: {reasons}")
        detail = _with_conflicts(kind, name, "; ".join([f"{outcome} (id {keep})", *clauses]), v)
        return Event("failed", ref, f"{detail}; plan again", warnings, seconds)
    if v.conflicts:
        detail = _with_conflicts(kind, name, "; ".join([f"{outcome} (id {keep})", *clauses]), v)
        return Event("failed", ref, detail, warnings, seconds)
    return Event(outcome, ref, "; ".join(clauses), warnings, seconds)


def _with_conflicts(kind: ObjectKind, name: str, detail: str, v: _Verdict) -> str:
    if not v.conflicts:
        return detail
    return (
        f'{detail}; but {kind.name} "{name}" also exists with other content (id '
        f"{_ids(v.conflicts)}), made since the plan: a conflict, not deleted; keep one of them "
        "and plan again"
    )
