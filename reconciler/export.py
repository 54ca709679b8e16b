"""Live objects -> a desired-state directory that plans to "No changes.".

Pure: it returns the files to write (relative path -> text) and what the user must know
(secrets to set, warnings). Layout: ``reconciler.yaml``, ``tagging-policies/<slug>.yaml``,
``guardrails/<slug>.yaml``; allowed-value lists longer than ``inline_limit`` go to a CSV beside
the policy. Keys follow the schema's order, attributes equal to their default are left out,
set-like lists are sorted, and webhook URLs are never written: each becomes a ``fromEnv``
reference to a generated variable name.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.documents import resolve_plain
from reconciler.kinds import KINDS, Kind
from reconciler.model import LiveObject
from reconciler.schemas import load_schema

INLINE_LIMIT = 50
FOLDERS = {"TaggingPolicy": "tagging-policies", "Guardrail": "guardrails"}


@dataclass
class Export:
    files: dict[str, str] = field(default_factory=dict)
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (variable, what it is for)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def slug(name: str) -> str:
    """A file name from an object name: ASCII, lower case, dashes; never empty."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text[:60].rstrip("-") or "unnamed"


def _env_name(kind: Kind, file_slug: str) -> str:
    base = re.sub(r"[^A-Z0-9]+", "_", file_slug.upper()).strip("_")
    return f"INFRACOST_{kind.name.upper()}_{base}_WEBHOOK_URL"


# --- YAML that reconciler reads back exactly --------------------------------------------------


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key, as people write


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Quote every string that a plain scalar would not give back as the same string, in YAML
    # 1.1 or 1.2 (``yes``, ``010``, ``1e3``, ``2024-01-01``...): reconciler refuses those.
    plain_ok = resolve_plain(value) == value and type(resolve_plain(value)) is str
    style = None if plain_ok and "\n" not in value else '"'
    if "\n" in value and len(value) > 60:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(data: Mapping[str, Any], header: str) -> str:
    body = yaml.dump(
        dict(data),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return header + body


# --- one object -------------------------------------------------------------------------------


def _is_default(value: Any, schema: Mapping[str, Any]) -> bool:
    if "default" not in schema:
        return False
    default = schema["default"]
    if isinstance(value, list) and isinstance(default, list):
        return sorted(map(str, value)) == sorted(map(str, default))
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default) and value == default
    return bool(value == default)


def _filters(
    value: Any, schema: Mapping[str, Any], ref: str, warnings: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(value, dict):
        return out
    props = schema.get("properties", {})
    for sub, spec in value.items():
        if sub not in props:
            warnings.append(
                f"{ref}: filters.{sub} is not managed by reconciler; left out "
                "(the API keeps it: updates carry it over)"
            )
            continue
        if not isinstance(spec, dict):
            continue
        entry: dict[str, Any] = {}
        for key in ("include", "exclude"):
            items = spec.get(key) or []
            if items:
                entry[key] = sorted(items)
        extra = set(spec) - {"include", "exclude"}
        if extra:
            warnings.append(
                f"{ref}: filters.{sub} has keys reconciler does not manage "
                f"({', '.join(sorted(extra))}); left out, the API keeps them"
            )
        if entry:
            out[sub] = entry
    return out


def _tags(
    value: Any,
    schema: Mapping[str, Any],
    ref: str,
    file_slug: str,
    folder: str,
    export: Export,
    inline_limit: int,
) -> list[dict[str, Any]]:
    item_props = schema.get("items", {}).get("properties", {})
    out = []
    for tag in sorted(
        (t for t in value or [] if isinstance(t, dict)), key=lambda t: str(t.get("key"))
    ):
        entry: dict[str, Any] = {}
        for prop, spec in item_props.items():
            if prop == "allowedValuesFrom" or prop not in tag:
                continue
            v = tag[prop]
            if prop != "key" and _is_default(v, spec):
                continue
            if prop == "allowedValues" and isinstance(v, list):
                values = sorted(v)
                if len(values) > inline_limit:
                    name = f"{file_slug}.{slug(str(tag.get('key')))}.csv"
                    buf = io.StringIO()
                    writer = csv.writer(buf, lineterminator="\n")
                    writer.writerow(["value"])
                    writer.writerows([x] for x in values)
                    export.files[f"{folder}/{name}"] = buf.getvalue()
                    entry["allowedValuesFrom"] = {"file": name, "column": "value"}
                    continue
                v = values
            entry[prop] = v
        extra = set(tag) - set(item_props)
        if extra:
            export.warnings.append(
                f"{ref}: tag {tag.get('key')!r} has keys reconciler does not manage "
                f"({', '.join(sorted(extra))}); left out, the API keeps them"
            )
        out.append(entry)
    return out


def _document(
    kind: Kind,
    obj: LiveObject,
    file_slug: str,
    pin: bool,
    export: Export,
    inline_limit: int,
) -> dict[str, Any]:
    schema = load_schema(kind.schema)
    props = schema["properties"]
    attrs = obj.attributes
    ref = f'{kind.name} "{attrs.get("name")}"'
    folder = FOLDERS[kind.name]
    doc: dict[str, Any] = {"kind": kind.name, "name": attrs.get("name", "")}
    if pin:
        doc["id"] = obj.id
    for prop, spec in props.items():
        if prop in ("kind", "name", "id", "absent", "protect") or prop not in attrs:
            continue
        value = attrs[prop]
        if prop in kind.secret_fields:
            if isinstance(value, str) and value:
                var = _env_name(kind, file_slug)
                export.secrets.append((var, f"{ref}: {prop}"))
                doc[prop] = {"fromEnv": var}
            continue
        if prop == "filters":
            value = _filters(value, spec, ref, export.warnings)
            if value:
                doc[prop] = value
            continue
        if prop == "tags":
            doc[prop] = _tags(value, spec, ref, file_slug, folder, export, inline_limit)
            continue
        if _is_default(value, spec):
            continue
        if isinstance(value, list):
            value = sorted(value)
        doc[prop] = value
    if kind.name == "Guardrail" and "scope" not in doc and "scope" in attrs:
        doc["scope"] = attrs["scope"]
    return doc


def build(
    org: str,
    api: str | None,
    live: Mapping[str, Sequence[LiveObject]],
    kinds: Sequence[str],
    *,
    inline_limit: int = INLINE_LIMIT,
) -> Export:
    export = Export()
    config = "# Exported by reconciler export. Plan with: reconciler plan <this directory>\n"
    config += f"org: {org}\n"
    if api:
        config += f"api: {api}\n"
    config += (
        "prune: false          # undeclared live objects are reported, never deleted\n"
        "pruneLimit: 5\n"
    )
    export.files["reconciler.yaml"] = config
    for name in kinds:
        kind = KINDS[name]
        objects = sorted(live.get(name, ()), key=lambda o: (str(o.attributes.get("name")), o.id))
        names: dict[str, int] = {}
        for o in objects:
            names[str(o.attributes.get("name"))] = names.get(str(o.attributes.get("name")), 0) + 1
        used: set[str] = set()
        for o in objects:
            base = slug(str(o.attributes.get("name", "")))
            file_slug, n = base, 1
            while file_slug in used:
                n += 1
                file_slug = f"{base}-{n}"
            used.add(file_slug)
            duplicate = names[str(o.attributes.get("name"))] > 1
            if duplicate:
                export.warnings.append(
                    f'{name} "{o.attributes.get("name")}": several live objects share this name; '
                    f"exported with id: {o.id} so each document names exactly one"
                )
            doc = _document(kind, o, file_slug, duplicate, export, inline_limit)
            header = f"# {name} {o.id}, exported from org {org}\n"
            export.files[f"{FOLDERS[name]}/{file_slug}.yaml"] = _dump(doc, header)
        export.counts[name] = len(objects)
    return export
