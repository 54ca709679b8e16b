"""Live snapshots: the live state of an org saved to a file, secrets as fingerprints.

A trusted job on main refreshes the snapshot; pull-request jobs plan against it with no token
and no network (``plan --live FILE``). Live data is saved as the API gave it, odd values
included (a lone surrogate is a JSON escape), so a plan against the snapshot is the plan against
the API; a secret that is not a string is saved as a marker, never as itself. A snapshot nested
deeper than the API client accepts (``normalize.MAX_DEPTH``) is refused like a malformed answer.

A secret saved as a fingerprint also records the ``fromEnv`` variable of the directory's
document whose value it equals (``{"fingerprint": ..., "fromEnv": NAME}``): a plan against the
snapshot has no secrets, and compares that reference instead of the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler import __version__, kinds, secrets
from reconciler.errors import InputError
from reconciler.files import read_json, write_atomic
from reconciler.kinds.base import ObjectKind
from reconciler.model import LiveObject, Resource, SecretRef
from reconciler.normalize import MAX_DEPTH, SECRET_NOT_A_STRING, fingerprint, nested_deeper_than
from reconciler.render.escape import json_dumps

FORMAT = "reconciler-snapshot"
FORMAT_VERSION = 1


References = Mapping[tuple[str, str], Mapping[str, str]]  # (kind, id) -> attribute -> env var


def references(
    resources: Sequence[Resource],
    live: Mapping[str, Sequence[LiveObject]],
    env: Mapping[str, str],
) -> dict[tuple[str, str], dict[str, str]]:
    """For each live secret, the ``fromEnv`` variable of the document it belongs to (by id
    pin, else by a name no other live object has), when that variable resolves to it here."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for r in resources:
        if r.absent:
            continue
        objects = live.get(r.kind, ())
        if r.id:
            found = [o for o in objects if o.id.lower() == r.id.lower()]
        else:
            found = [o for o in objects if o.attributes.get("name") == r.name]
        if len(found) != 1:
            continue
        obj = found[0]
        for attr, ref in r.attributes.items():
            have = obj.attributes.get(attr)
            if not isinstance(ref, SecretRef) or not isinstance(have, str):
                continue
            value = secrets.from_env(env, ref.env, ref.default)
            if value is not None and fingerprint(value) == fingerprint(have):
                out.setdefault((r.kind, obj.id), {})[attr] = ref.env
    return out


def _masked(
    kind: ObjectKind, attributes: Mapping[str, Any], refs: Mapping[str, str]
) -> dict[str, Any]:
    out = dict(attributes)
    for name in kind.secret_fields:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = {"fingerprint": fingerprint(value)}
            if name in refs:
                out[name]["fromEnv"] = refs[name]
        elif isinstance(value, dict | list):  # odd data that may hold the secret: never saved
            out[name] = {"unreadable": SECRET_NOT_A_STRING}
    return out


def save(
    path: Path,
    org: str,
    api: str,
    live: Mapping[str, Sequence[LiveObject]],
    refs: References | None = None,
    origin: Mapping[str, str] | None = None,
) -> None:
    """``origin``: where the snapshot was taken (``ref``, ``commit``, ``takenAt``), so that a
    plan against it can say "live snapshot from main @ abc1234, 3 h old"."""
    body = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "toolVersion": __version__,
        "org": org,
        "api": api,
        "origin": dict(origin or {}),
        "objects": {
            kind: [
                {
                    "id": o.id,
                    "attributes": _masked(
                        kinds.OBJECT_KINDS[kind], o.attributes, (refs or {}).get((kind, o.id), {})
                    ),
                }
                for o in sorted(objects, key=lambda o: o.id)
            ]
            for kind, objects in live.items()
        },
    }
    write_atomic(path, json_dumps(body, indent=1, sort_keys=True) + "\n")


def load(path: Path, org: str | None) -> tuple[str, dict[str, list[LiveObject]], dict[str, str]]:
    """(org, live objects per kind, origin) from a snapshot; refuses another org's snapshot."""
    try:
        body = read_json(path, "reconciler snapshot")
    except RecursionError:  # read_json says so itself; kept for a parser that raises later
        raise InputError(f"{path}: malformed snapshot (nested too deep)") from None
    if isinstance(body, dict) and nested_deeper_than(body.get("objects"), MAX_DEPTH):
        raise InputError(f"{path}: malformed snapshot (nested more than {MAX_DEPTH} levels)")
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise InputError(f"{path}: not a reconciler snapshot")
    if body.get("formatVersion") != FORMAT_VERSION:
        raise InputError(f"{path}: snapshot version {body.get('formatVersion')} is not supported")
    snap_org = body.get("org")
    if org is not None and snap_org != org:
        raise InputError(f'{path}: the snapshot is of org "{snap_org}", not "{org}"')
    live: dict[str, list[LiveObject]] = {}
    try:
        for kind, objects in body["objects"].items():
            if kind not in kinds.OBJECT_KINDS:
                raise InputError(f'{path}: unknown kind "{kind}"')
            live[kind] = [_object(path, kind, o) for o in objects]
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: malformed snapshot ({type(exc).__name__}: {exc})") from None
    origin = body.get("origin")
    kept = {
        k: v
        for k, v in (origin.items() if isinstance(origin, dict) else ())
        if k in ("ref", "commit", "takenAt") and isinstance(v, str)
    }
    return str(snap_org), live, kept


def origin_here(env: Mapping[str, str], now: str) -> dict[str, str]:
    """Where a snapshot is being taken: the branch and commit of the Actions run, if any."""
    out = {"takenAt": now}
    if env.get("GITHUB_REF_NAME"):
        out["ref"] = env["GITHUB_REF_NAME"]
    if env.get("GITHUB_SHA"):
        out["commit"] = env["GITHUB_SHA"]
    return out


def _object(path: Path, kind: str, o: Any) -> LiveObject:
    attributes = o["attributes"]
    if not isinstance(attributes, dict):
        raise InputError(
            f"{path}: malformed snapshot ({kind} {o['id']!r}: attributes not an object)"
        )
    return LiveObject(str(o["id"]), attributes)
