"""The honest floor of ``reconciler plan``: the least any implementation must do, one step after
the other, with the fastest ordinary tools.

- every YAML file of the directory with ``yaml.CSafeLoader`` (libyaml);
- the CSV a policy reads its allowed values from, with ``csv``;
- the two list GETs, with ``requests``, against the same server as the plan;
- per object: the schema defaults filled on both sides, set differences of the lists, and the
  changed values printed.

No validation, no hygiene, no secrets, no saved plan, no guard: what it prints is only right on
valid input, which is why it is a floor.

    INFRACOST_SERVICE_TOKEN=... python benchmarks/plan_floor.py DIR API_URL ORG
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

import requests
import yaml

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
KINDS = {
    "TaggingPolicy": ("tagging-policies", "tagging-policy.schema.json"),
    "Guardrail": ("guardrails", "guardrail.schema.json"),
}
TOOL_ONLY = {"kind", "id", "absent", "protect"}


def with_defaults(schema: dict[str, Any], value: Any) -> Any:
    if isinstance(value, dict):
        props = schema.get("properties")
        if not props:
            return value
        out = dict(value)
        for key, sub in props.items():
            if key in out:
                out[key] = with_defaults(sub, out[key])
            elif "default" in sub:
                out[key] = with_defaults(sub, sub["default"])
        return out
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict) and "properties" in items:
            return [with_defaults(items, v) for v in value]
    return value


def canon(value: Any) -> Any:
    """Lists of keyed entries become mappings, other lists sets."""
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, dict) and "key" in v for v in value):
            return {v["key"]: canon(v) for v in value}
        return frozenset(value)
    return value


def differences(path: str, have: Any, want: Any, out: list[str]) -> None:
    if have == want:
        return
    if isinstance(have, dict) and isinstance(want, dict):
        for key in sorted(have.keys() | want.keys()):
            differences(f"{path}.{key}", have.get(key), want.get(key), out)
    elif isinstance(have, frozenset) and isinstance(want, frozenset):
        out.extend(f"{path}: + {v}" for v in sorted(want - have))
        out.extend(f"{path}: - {v}" for v in sorted(have - want))
    else:
        out.append(f"{path}: {have!r} -> {want!r}")


def values_from(yaml_file: Path, source: dict[str, Any]) -> list[str]:
    with (yaml_file.parent / source["file"]).open(newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        column = next(rows).index(source["column"])
        return [row[column] for row in rows]


def main() -> int:
    root, api, org = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    desired: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(root.rglob("*.yaml")):
        if path.name != "reconciler.yaml":
            with path.open(encoding="utf-8") as fh:
                desired += [(path, d) for d in yaml.load_all(fh, Loader=yaml.CSafeLoader) if d]
    for path, doc in desired:
        for tag in doc.get("tags", ()):
            if "allowedValuesFrom" in tag:
                tag["allowedValues"] = values_from(path, tag.pop("allowedValuesFrom"))
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {os.environ['INFRACOST_SERVICE_TOKEN']}"
        live = {
            kind: session.get(f"{api}/orgs/{org}/{path}", timeout=60).json()["data"]
            for kind, (path, _) in KINDS.items()
        }
    schemas = {kind: json.loads((SCHEMAS / file).read_text()) for kind, (_, file) in KINDS.items()}
    by_name = {
        (kind, o["attributes"]["name"]): o["attributes"]
        for kind, objs in live.items()
        for o in objs
    }
    changed = 0
    for _, doc in desired:
        kind = doc["kind"]
        schema = schemas[kind]
        managed = {k for k in schema["properties"] if k not in TOOL_ONLY}
        want = canon(with_defaults(schema, {k: v for k, v in doc.items() if k in managed}))
        attributes = by_name.get((kind, doc["name"]), {})
        have = canon(with_defaults(schema, {k: v for k, v in attributes.items() if k in managed}))
        out: list[str] = []
        differences("", have, want, out)
        if out:
            changed += 1
            print(f'{kind} "{doc["name"]}"')
            print("\n".join(out))
    print(f"{changed} to change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
