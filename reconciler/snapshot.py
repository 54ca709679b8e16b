"""Live snapshots: the live state of an org saved to a file, secrets as fingerprints.

A trusted job on main refreshes the snapshot; pull-request jobs plan against it with no token
and no network (``plan --live FILE``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler import __version__, kinds
from reconciler.errors import InputError
from reconciler.files import read_json, write_atomic
from reconciler.kinds.base import ObjectKind
from reconciler.model import LiveObject
from reconciler.normalize import fingerprint

FORMAT = "reconciler-snapshot"
FORMAT_VERSION = 1


def _masked(kind: ObjectKind, attributes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(attributes)
    for name in kind.secret_fields:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = {"fingerprint": fingerprint(value)}
    return out


def save(path: Path, org: str, api: str, live: Mapping[str, Sequence[LiveObject]]) -> None:
    body = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "toolVersion": __version__,
        "org": org,
        "api": api,
        "objects": {
            kind: [
                {"id": o.id, "attributes": _masked(kinds.OBJECT_KINDS[kind], o.attributes)}
                for o in sorted(objects, key=lambda o: o.id)
            ]
            for kind, objects in live.items()
        },
    }
    write_atomic(path, json.dumps(body, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def load(path: Path, org: str | None) -> tuple[str, dict[str, list[LiveObject]]]:
    """(org, live objects per kind) from a snapshot; refuses another org's snapshot."""
    body = read_json(path, "reconciler snapshot")
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
            live[kind] = [LiveObject(str(o["id"]), dict(o["attributes"])) for o in objects]
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: malformed snapshot ({type(exc).__name__}: {exc})") from None
    return str(snap_org), live
