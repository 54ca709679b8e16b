"""Live objects -> a desired-state directory that plans to "No changes.".

Pure: it returns the files to write (relative path -> text) and what the user must know
(secrets to set, warnings). Layout: ``reconciler.yaml``, then one folder per kind
(``ObjectKind.folder``) with one ``<slug>.yaml`` per object. Keys follow the schema's order,
attributes equal to their default are left out (required ones never), lists are sorted, and
secrets are never written: each becomes a ``fromEnv`` reference to a generated variable name.
Each kind may export an attribute its own way (``ObjectKind.export_attribute``): a tagging
policy writes a long value list to a CSV beside the policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler import kinds
from reconciler.documents import resolve_plain
from reconciler.kinds.base import (
    GENERIC,
    OMIT,
    TOOL_ONLY,
    ExportContext,
    ObjectKind,
    is_default,
    slug,
    sorted_list,
)
from reconciler.model import LiveObject
from reconciler.render.escape import clean, quote
from reconciler.schemas import load_schema
from reconciler.settings import CONFIG_NAME, DEFAULT_API

INLINE_LIMIT = 50
# File names an object's slug must not take: ``<folder>/reconciler.yaml`` reads as the config of
# a nested directory, and validate refuses it. An object named "reconciler" is written as
# ``reconciler-2.yaml``.
RESERVED_SLUGS = frozenset({CONFIG_NAME.removesuffix(".yaml")})

# A policy repository never commits reconciler's local state (the embedded sandbox's database,
# the record of the last custom-properties uploads): its workflows keep it as an artifact.
STATE_DIR = ".reconciler"
GITIGNORE = (
    "# reconciler's local state: the embedded sandbox's database and the record of the last\n"
    "# custom-properties uploads (the workflows keep it as an artifact, never in git)\n"
    f"{STATE_DIR}/\n"
)


def ignores_state(gitignore: str) -> bool:
    """Whether a .gitignore's text has a plain line ignoring ``.reconciler/`` of its directory
    (or of any directory under it)."""
    lines = {line.strip() for line in gitignore.splitlines()}
    return any(
        f"{lead}{STATE_DIR}{tail}" in lines for lead in ("", "/", "**/") for tail in ("", "/")
    )


@dataclass
class Export:
    files: dict[str, str] = field(default_factory=dict)
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (variable, what it is for)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _env_name(kind: ObjectKind, file_slug: str) -> str:
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


def _document(
    kind: ObjectKind,
    obj: LiveObject,
    file_slug: str,
    pin: bool,
    export: Export,
    inline_limit: int,
) -> dict[str, Any]:
    schema = load_schema(kind.schema)
    required = set(schema.get("required", ()))
    attrs = obj.attributes
    ref = f"{kind.name} {quote(str(attrs.get('name')))}"  # for warnings: escaped, one line
    out = ExportContext(ref, file_slug, kind.folder, inline_limit, export.files, export.warnings)
    doc: dict[str, Any] = {"kind": kind.name, "name": attrs.get("name", "")}
    if pin:
        doc["id"] = obj.id
    for prop, spec in schema["properties"].items():
        if prop in (*TOOL_ONLY, "name") or prop not in attrs:
            continue
        value = attrs[prop]
        if prop in kind.secret_fields:
            if isinstance(value, str) and value:
                var = _env_name(kind, file_slug)
                export.secrets.append((var, f"{ref}: {prop}"))
                doc[prop] = {"fromEnv": var}
            continue
        written = kind.export_attribute(prop, value, spec, out)
        if written is OMIT:
            continue
        if written is GENERIC:
            if prop not in required and is_default(value, spec):
                continue
            written = sorted_list(value) if isinstance(value, list) else value
        doc[prop] = written
    return doc


def build(
    org: str,
    api: str | None,
    live: Mapping[str, Sequence[LiveObject]],
    kind_names: Sequence[str],
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
    for name in kind_names:
        kind = kinds.OBJECT_KINDS[name]
        objects = sorted(live.get(name, ()), key=lambda o: (str(o.attributes.get("name")), o.id))
        names: dict[str, int] = {}
        for o in objects:
            names[str(o.attributes.get("name"))] = names.get(str(o.attributes.get("name")), 0) + 1
        used = set(RESERVED_SLUGS)
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
                    f"{name} {quote(str(o.attributes.get('name')))}: several live objects share "
                    f"this name; exported with id: {clean(o.id)} so each document names exactly one"
                )
            doc = _document(kind, o, file_slug, duplicate, export, inline_limit)
            header = f"# {name} {clean(o.id)}, exported from org {org}\n"
            export.files[f"{kind.folder}/{file_slug}.yaml"] = _dump(doc, header)
        export.counts[name] = len(objects)
    # warnings quote live names and keys (some written by kind modules): one visible line each
    export.warnings = [clean(w) for w in export.warnings]
    return export


def merge_config(existing: str, org: str, api: str | None) -> tuple[str, list[str]]:
    """The user's reconciler.yaml with the export's org and API, every other setting, comment
    and line kept (``hygiene:``, ``sources:``, ``prune:``...). Returns the text and what was
    replaced or added (``org "old" -> "acme"``). ``api`` None: the default API. ValueError
    when the file is not one YAML mapping (nothing can be merged into it)."""
    try:
        root = yaml.compose(existing, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"not valid YAML{where}") from None
    if root is None:  # empty, or only comments
        root = yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("not a mapping of settings")
    wanted = {"org": org, "api": api if api is not None else DEFAULT_API}
    present = {
        k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value in wanted
    }
    splices: list[tuple[int, int, str]] = []
    added = ""  # settings the file lacks: before its first one
    notes: list[str] = []
    for key, value in wanted.items():
        node = present.get(key)
        if node is None:
            if key == "api" and api is None:
                continue  # the default API, left out as export leaves it out
            added += f"{key}: {value}\n"
            notes.append(f"{key} {value} added")
            continue
        old = node.value if isinstance(node, yaml.ScalarNode) else None
        same = old == value if key == "org" else _same_api(old, value)
        if not same:
            splices.append((node.start_mark.index, node.end_mark.index, value))
            notes.append(f"{key} {quote(str(old))} -> {quote(value)}")
    if added:
        at = existing.rfind("\n", 0, root.start_mark.index) + 1 if root.value else len(existing)
        splices.append((at, at, added))
    text = existing if existing.endswith("\n") or not existing else existing + "\n"
    for start, end, new in sorted(splices, reverse=True):  # from the end: indexes stay true
        text = text[:start] + new + text[end:]
    return text, notes


def _same_api(old: str | None, new: str) -> bool:
    return old is not None and old.rstrip("/").lower() == new.rstrip("/").lower()
