"""Plan <-> JSON: the documented, versioned plan document, and the saved plan file.

The ``plan`` part is what ``plan --format json`` prints. The file wraps it with the format
version, the tool version, the digest of the desired state it was computed from, and a checksum
over everything, to catch accidental edits. It never holds a token or a secret value: secrets
travel as ``{"fromEnv": NAME, "fingerprint": ...}``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reconciler import __version__, kinds
from reconciler.errors import InputError
from reconciler.files import write_atomic
from reconciler.model import (
    Change,
    CustomPropertiesChange,
    FieldChange,
    Location,
    Note,
    Plan,
    Ref,
    Unmanaged,
)
from reconciler.render.escape import json_dumps

FORMAT_VERSION = 1


def summary(plan: Plan) -> dict[str, Any]:
    governance = Counter(c.governance for c in plan.changes if c.action != "no-op")
    return {
        "add": plan.count("create"),
        "change": plan.count("update"),
        "destroy": plan.count("delete"),
        "unchanged": plan.count("no-op"),
        "unmanaged": len(plan.unmanaged),
        "governance": dict(sorted(governance.items())),
        "hasChanges": plan.has_changes,
        "refused": bool(plan.errors),
    }


def _field(f: FieldChange) -> dict[str, Any]:
    return {
        "path": f.path,
        "before": f.before,
        "after": f.after,
        "added": list(f.added),
        "removed": list(f.removed),
        "unchanged": f.unchanged,
        "set": f.is_set,
        "secret": f.secret,
        "governance": f.governance,
    }


def _change(c: Change) -> dict[str, Any]:
    src = c.source
    return {
        "action": c.action,
        "kind": c.ref.kind,
        "name": c.ref.name,
        "id": c.ref.id,
        "governance": c.governance,
        "reason": c.reason,
        "unresolved": list(c.unresolved),
        "source": None
        if src is None
        else {"file": str(src.file), "line": src.line, "column": src.column},
        "liveFingerprint": c.live_fingerprint,
        "liveValues": c.live_values,
        "fields": [_field(f) for f in c.fields],
        "send": c.send,
    }


def _note(n: Note) -> dict[str, Any]:
    return {
        "file": n.file,
        "line": n.line,
        "message": n.message,
        "kind": n.kind,
        "name": n.name,
        "field": n.field,
        "values": list(n.values),
        "suggestion": n.suggestion,
    }


def _read_note(n: dict[str, Any]) -> Note:
    return Note(
        str(n["file"]),
        int(n["line"]),
        str(n["message"]),
        str(n.get("kind", "")),
        str(n.get("name", "")),
        str(n.get("field", "")),
        tuple(str(v) for v in n.get("values", ())),
        str(n.get("suggestion", "")),
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan document: what ``plan --format json`` prints and what plan files hold."""
    cp = plan.custom_properties
    return {
        "formatVersion": FORMAT_VERSION,
        "org": plan.org,
        "api": plan.api,
        "dir": plan.dir,
        "partial": plan.partial,
        "targets": list(plan.targets),
        "excludes": list(plan.excludes),
        "allowMassDelete": plan.allow_mass_delete,
        "summary": summary(plan),
        "changes": [_change(c) for c in plan.changes],
        "unmanaged": [
            {"kind": u.ref.kind, "name": u.ref.name, "id": u.ref.id, "hint": u.hint}
            for u in plan.unmanaged
        ],
        "warnings": list(plan.warnings),
        "errors": list(plan.errors),
        "hygiene": list(plan.hygiene),
        "hygieneFindings": [_note(n) for n in plan.hygiene_notes],
        "validation": [_note(n) for n in plan.validation],
        "snapshot": plan.snapshot,
        "secretsCompared": plan.secrets_compared,
        "customProperties": None
        if cp is None
        else {
            "status": cp.status,
            "baseline": cp.baseline,
            "added": list(cp.added),
            "changed": list(cp.changed),
            "removed": list(cp.removed),
            "digest": cp.digest,
            "rows": cp.rows,
            "file": cp.file,
        },
    }


def plan_from_dict(data: dict[str, Any]) -> Plan:
    changes = []
    for c in data["changes"]:
        src = c.get("source")
        changes.append(
            Change(
                action=c["action"],
                ref=Ref(c["kind"], c["name"], c.get("id")),
                fields=tuple(
                    FieldChange(
                        path=f["path"],
                        before=f["before"],
                        after=f["after"],
                        added=tuple(f["added"]),
                        removed=tuple(f["removed"]),
                        unchanged=f["unchanged"],
                        is_set=f["set"],
                        secret=f["secret"],
                        governance=f["governance"],
                    )
                    for f in c["fields"]
                ),
                governance=c["governance"],
                send=c.get("send"),
                live_fingerprint=c.get("liveFingerprint"),
                live_values=c.get("liveValues"),
                reason=c.get("reason", ""),
                unresolved=tuple(c.get("unresolved", ())),
                source=None if not src else Location(Path(src["file"]), src["line"], src["column"]),
            )
        )
    cp = data.get("customProperties")
    return Plan(
        org=data["org"],
        api=data["api"],
        dir=data["dir"],
        changes=tuple(changes),
        unmanaged=tuple(
            Unmanaged(Ref(u["kind"], u["name"], u.get("id")), u.get("hint", ""))
            for u in data["unmanaged"]
        ),
        warnings=tuple(data["warnings"]),
        errors=tuple(data["errors"]),
        partial=data["partial"],
        targets=tuple(data["targets"]),
        excludes=tuple(data["excludes"]),
        allow_mass_delete=data["allowMassDelete"],
        hygiene=tuple(data.get("hygiene", ())),
        hygiene_notes=tuple(_read_note(n) for n in data.get("hygieneFindings", ())),
        validation=tuple(_read_note(n) for n in data.get("validation", ())),
        snapshot=data.get("snapshot"),
        secrets_compared=data.get("secretsCompared", True) is not False,
        custom_properties=None
        if cp is None
        else CustomPropertiesChange(
            status=cp["status"],
            baseline=cp["baseline"],
            added=tuple(cp["added"]),
            changed=tuple(cp["changed"]),
            removed=tuple(cp["removed"]),
            digest=cp["digest"],
            rows=cp["rows"],
            file=cp.get("file", ""),
        ),
    )


def _checksum(body: dict[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # a lone surrogate from a live name must not stop the plan file being saved
    return "sha256:" + hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


def save(plan: Plan, path: Path, *, desired_digest: str) -> None:
    """Write the plan file atomically (a failed write leaves no half-written file)."""
    body = {
        "formatVersion": FORMAT_VERSION,
        "toolVersion": __version__,
        "desiredDigest": desired_digest,
        "plan": plan_to_dict(plan),
    }
    body["checksum"] = _checksum(body)
    write_atomic(path, json_dumps(body, indent=2) + "\n")


FROM_PLAN_O = "a saved plan is the file reconciler plan DIR -o FILE writes"


def load(path: Path, shown: str | None = None) -> tuple[Plan, dict[str, Any]]:
    """A saved plan and its envelope; refuses other versions, files without a checksum or with
    one that does not match, and changes that apply could not perform as written. A file that
    is something else (YAML, the output of ``plan --format json``, a snapshot) is named as such.
    ``shown`` names the file in errors (default: its path)."""
    name = shown if shown is not None else str(path)
    body = _read(path, name)
    if not isinstance(body, dict):
        raise InputError(f"{name}: not a saved plan (JSON, but not an object); {FROM_PLAN_O}")
    if body.get("format") == "reconciler-snapshot":
        raise InputError(
            f"{name}: a live snapshot (from reconciler snapshot), not a saved plan: plan against "
            f"it with reconciler plan DIR --live {name}; {FROM_PLAN_O}"
        )
    if "changes" in body and "summary" in body and "plan" not in body:
        raise InputError(
            f"{name}: the plan document that plan --format json prints, not a saved plan (it has "
            f"no checksum and no digest of the files, so apply cannot check it); {FROM_PLAN_O}"
        )
    if "formatVersion" not in body:
        raise InputError(f"{name}: not a saved plan (no formatVersion); {FROM_PLAN_O}")
    version = body["formatVersion"]
    # an int, and this one: in Python true == 1 and 1.0 == 1
    if type(version) is not int or version != FORMAT_VERSION:
        shown_version = json.dumps(version, ensure_ascii=True)
        if len(shown_version) > 40:
            shown_version = shown_version[:40] + "..."
        raise InputError(
            f"{name}: plan format version {shown_version} is not supported by "
            f"reconciler {__version__} (it reads version {FORMAT_VERSION}); plan again"
        )
    if "checksum" not in body:
        raise InputError(
            f"{name}: the plan file has no checksum: the file was edited or damaged; plan again"
        )
    claimed = body.pop("checksum")
    if not isinstance(claimed, str) or claimed != _checksum(body):
        raise InputError(
            f"{name}: the checksum does not match: the file was edited or is damaged; plan again"
        )
    try:
        plan = plan_from_dict(body["plan"])
        for i, change in enumerate(body["plan"]["changes"]):
            _check_change(change, plan.changes[i])
    except _Malformed as exc:
        raise InputError(f"{name}: malformed plan: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InputError(f"{name}: malformed plan ({type(exc).__name__}: {exc})") from None
    return plan, body


def _read(path: Path, name: str) -> Any:
    """The file's JSON; what it is instead when it is not JSON (YAML, text), never the parser's
    message alone."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file; {FROM_PLAN_O}") from None
    except IsADirectoryError:
        raise InputError(f"{name}: a directory, not a saved plan; {FROM_PLAN_O}") from None
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a saved plan (not UTF-8 text); {FROM_PLAN_O}") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(f"{name}: malformed plan (nested too deep)") from None
    except json.JSONDecodeError as exc:
        if path.suffix.lower() in (".yaml", ".yml"):
            what = "a YAML file, not a saved plan"
        elif text.lstrip().startswith("{"):
            what = f"not a saved plan: damaged JSON (line {exc.lineno}, column {exc.colno})"
        else:
            what = "not a saved plan (not JSON)"
        raise InputError(f"{name}: {what}; {FROM_PLAN_O}") from None
    except ValueError as exc:  # the digit limit of int()
        raise InputError(f"{name}: malformed plan ({exc})") from None


class _Malformed(Exception):
    pass


_ACTIONS = frozenset({"create", "update", "delete", "no-op"})


def _check_change(raw: dict[str, Any], change: Change) -> None:
    """What apply relies on: a known kind and action, an id to update or delete, and the list
    of the secrets the plan could not resolve (never defaulted to none)."""
    where = repr(f"{change.ref.kind}/{change.ref.name}"[:200])
    if change.ref.kind not in kinds.OBJECT_KINDS:
        raise _Malformed(f"{where}: unknown kind")
    if change.action not in _ACTIONS:
        raise _Malformed(f"{where}: unknown action {str(change.action)[:40]!r}")
    if change.action in ("update", "delete") and not isinstance(change.ref.id, str):
        raise _Malformed(f"{where}: {change.action} without an id")
    unresolved = raw.get("unresolved")
    if not isinstance(unresolved, list) or not all(isinstance(n, str) for n in unresolved):
        raise _Malformed(f"{where}: no list of unresolved secrets")
    if change.send is not None and not isinstance(change.send, dict):
        raise _Malformed(f"{where}: send is not an object")


DIGEST_CHUNK = 1024 * 1024


def desired_digest(directory: Path, files: Iterable[Path]) -> str:
    """A digest of the files a plan was computed from (``Prepared.files_read``: reconciler.yaml,
    the resource YAML files, the data files they point at), each named relative to
    ``directory`` and read in chunks: other files of the directory are never read."""
    from reconciler.documents import LoadError, open_regular

    h = hashlib.sha256()
    for name, path in sorted({_digest_name(directory, f): f for f in files}.items()):
        h.update(name.encode("utf-8") + b"\0")
        try:
            with open_regular(path) as fh:
                while chunk := fh.read(DIGEST_CHUNK):
                    h.update(chunk)
        except (LoadError, OSError) as exc:
            reason = exc.message if isinstance(exc, LoadError) else (exc.strerror or str(exc))
            raise InputError(f"{path}: changed while planning: {reason}") from None
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def _digest_name(directory: Path, path: Path) -> str:
    """``path`` relative to ``directory`` (data files arrive resolved), else as it is."""
    for base, target in ((directory.absolute(), path.absolute()), (directory.resolve(), path)):
        if target.is_relative_to(base):
            return target.relative_to(base).as_posix()
    return path.as_posix()
