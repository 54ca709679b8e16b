"""The JSON Schemas: loading, one validator per kind, defaults, and readable messages.

The schemas in ``schemas/`` are the single source of defaults (``default`` keywords) and the
reference documentation (``description`` keywords).
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import validator_cache
from reconciler.documents import Ambiguous

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_PACKAGE_DIR = Path(__file__).resolve().parent


def schema_dir() -> Path:
    """``reconciler/schemas`` in an installed wheel, ``schemas/`` in a source checkout."""
    for candidate in (_PACKAGE_DIR / "schemas", _PACKAGE_DIR.parent / "schemas"):
        if (candidate / "config.schema.json").is_file():
            return candidate
    raise FileNotFoundError("the JSON Schemas of reconciler are missing from the installation")


_DEFINED: dict[str, dict[str, Any]] = {}


def define(name: str, schema: dict[str, Any]) -> None:
    """A schema made in memory (one derived from the kinds registry), used by name like a file."""
    _DEFINED[name] = schema


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema by file name in schemas/, by absolute path (a kind outside the package), or
    one ``define``d."""
    if name in _DEFINED:
        return _DEFINED[name]
    path = Path(name)
    with (path if path.is_absolute() else schema_dir() / name).open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def validator(name: str) -> Draft202012Validator:
    """One validator per schema for the whole run (building one per document is slow)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name))


@cache
def _compiled(name: str) -> Callable[[Any], Any]:
    """A compiled yes/no validator: 30x faster than jsonschema on valid documents.

    fastjsonschema speaks draft-07; the schemas use only keywords whose meaning is the same in
    draft-07 and 2020-12 (tests/test_schemas.py checks that both agree on every test input).
    Defaults are not applied: the input is never modified. Generating and compiling the code
    takes tens of milliseconds, in every process: the compiled code is cached on disk.
    """
    import fastjsonschema

    schema = _without_descriptions({k: v for k, v in load_schema(name).items() if k != "$id"})
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    code = validator_cache.load(schema, fastjsonschema.VERSION)
    if code is None:
        source = fastjsonschema.compile_to_code(schema, use_default=False)
        code = compile(source, f"<validator of {name}>", "exec")
        validator_cache.store(schema, fastjsonschema.VERSION, code)
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the code fastjsonschema generated, or its cached compiled form
    validate: Callable[[Any], Any] = namespace["validate"]
    return validate


def _without_descriptions(node: Any) -> Any:
    """The schema without its documentation: the generated code embeds the schema in every
    error it can raise, and a third of it is descriptions."""
    if isinstance(node, dict):
        return {
            k: _without_descriptions(v)
            for k, v in node.items()
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


def is_valid(name: str, data: Any) -> bool:
    import fastjsonschema

    try:
        _compiled(name)(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


# --- defaults ------------------------------------------------------------------------------


_FILLED: dict[int, tuple[dict[str, Any], str]] = {}


def _filled_default(sub: dict[str, Any]) -> str:
    """The default of ``sub``, itself filled with defaults, as JSON: ``json.loads`` of it is a
    fresh copy, made in C (``filters: {}`` is 4 filters of 2 lists each, for every document).
    Keyed by the schema node, which the entry keeps alive (its id is never reused)."""
    entry = _FILLED.get(id(sub))
    if entry is None or entry[0] is not sub:
        default = copy.deepcopy(sub["default"])
        entry = (sub, json.dumps(with_defaults(sub, default)))
        _FILLED[id(sub)] = entry
    return entry[1]


def with_defaults(schema: dict[str, Any], instance: Any) -> Any:
    """A copy of ``instance`` with every missing optional property set to its schema default.

    Defaults that are objects are filled in turn (``filters: {}`` becomes every filter with empty
    ``include`` and ``exclude``), so the result is the complete, explicit attribute set.
    """
    if isinstance(instance, dict):
        fill = _fill_plan(schema)
        if not fill:
            return instance
        result = dict(instance)
        for key, sub, how, default in fill:
            if key in result:
                value = result[key]
                if isinstance(value, dict | list):  # scalars are kept as they are
                    result[key] = with_defaults(sub, value)
            elif how is _SCALAR:
                result[key] = default
            elif how is _EMPTY_LIST:  # a fresh one: never share the schema's
                result[key] = []
            elif how is _FILLED_JSON:
                result[key] = json.loads(default)
        return result
    if isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, dict) and ("properties" in items or "items" in items):
            return [with_defaults(items, v) for v in instance]
        return list(instance)
    return instance


_NO_DEFAULT, _SCALAR, _EMPTY_LIST, _FILLED_JSON = object(), object(), object(), object()
_FILL: dict[int, tuple[dict[str, Any], tuple[tuple[str, Any, object, Any], ...]]] = {}


def _fill_plan(schema: dict[str, Any]) -> tuple[tuple[str, Any, object, Any], ...]:
    """Per property of a schema node: its schema, how its default is made, and the default
    (for a container, ``_filled_default``'s JSON). Worked out once per node, not per instance;
    keyed by the node, which the entry keeps alive (as ``_FILLED``)."""
    entry = _FILL.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    plan: list[tuple[str, Any, object, Any]] = []
    for key, sub in (schema.get("properties") or {}).items():
        if "default" not in sub:
            plan.append((key, sub, _NO_DEFAULT, None))
            continue
        default = sub["default"]
        if default == []:
            plan.append((key, sub, _EMPTY_LIST, None))
        elif isinstance(default, dict | list):
            plan.append((key, sub, _FILLED_JSON, _filled_default(sub)))
        else:
            plan.append((key, sub, _SCALAR, default))
    _FILL[id(schema)] = (schema, tuple(plan))
    return tuple(plan)


# --- validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaError:
    path: tuple[str | int, ...]
    message: str
    on_key: bool = False  # point at the mapping key rather than its value


def _plain_strings(values: Any) -> bool:
    """Non-empty strings within the schemas' length limit (10,000, the API's): such a list can
    only pass its ``items`` schema, so one item stands for all."""
    return type(values) is list and all(type(v) is str and 0 < len(v) <= 10_000 for v in values)


def _fast_view(data: Any, sets: Sequence[tuple[str, ...]]) -> Any:
    """Shrink long lists of plain non-empty strings before jsonschema sees them.

    Checking 100,000 strings in Python takes milliseconds; jsonschema takes most of a second.
    A list that passes this check can only pass its ``items: {type: string, minLength: 1}``
    schema, so validating one element of it is enough. Only the kind's set-like lists are
    shrunk (``sets``: paths with "*" for any key and "[]" for every element); anything else
    goes through whole.
    """
    for path in sets:
        data = _shrunk(data, path)
    return data


def _shrunk(node: Any, path: tuple[str, ...]) -> Any:
    """``node`` itself when nothing below it was shrunk (the common case copies nothing)."""
    if not path:
        if isinstance(node, list) and len(node) > 16 and _plain_strings(node):
            return node[:1]
        return node
    head, rest = path[0], path[1:]
    if head == "[]":
        if not isinstance(node, list):
            return node
        items: list[Any] | None = None
        for i, item in enumerate(node):
            new = _shrunk(item, rest)
            if new is not item:
                if items is None:
                    items = list(node)
                items[i] = new
        return node if items is None else items
    if not isinstance(node, dict):
        return node
    keys = list(node) if head == "*" else [head] if head in node else []
    changed: dict[str, Any] | None = None
    for k in keys:
        value = node[k]
        new = _shrunk(value, rest)
        if new is not value:
            if changed is None:
                changed = dict(node)
            changed[k] = new
    return node if changed is None else changed


def schema_errors(
    schema_name: str,
    data: Any,
    *,
    secrets: Collection[str] = (),
    sets: Sequence[tuple[str, ...]] = (),
) -> list[SchemaError]:
    """Every schema problem of one document, as located, readable messages.

    A compiled validator answers first; jsonschema, which explains, runs only when something
    is wrong (and is only imported then). ``secrets``: attributes whose values are never
    echoed; ``sets``: set-like lists, checked through one element when they are plain strings.
    """
    view = _fast_view(data, sets)
    if is_valid(schema_name, view):
        return []
    out: list[SchemaError] = []
    for error in validator(schema_name).iter_errors(view):
        out.extend(_translate(error, frozenset(secrets)))
    unique: dict[tuple[tuple[str | int, ...], str], SchemaError] = {}
    for e in out:
        unique.setdefault((e.path, e.message), e)
    return list(unique.values())


_PATTERN_NAMES = {
    "^[0-9a-fA-F]{8}-": "a UUID",
    "^[A-Za-z_][A-Za-z0-9_]*$": "an environment variable name (letters, digits, _)",
    r"^[^@\s]+@[^@\s]+$": "an e-mail address",
    "^[A-Za-z0-9][A-Za-z0-9_.-]*$": "an org slug (letters, digits, '-', '_', '.')",
}

_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def describe(value: Any) -> str:
    """A value as the user wrote it, short."""
    if isinstance(value, Ambiguous):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(text, ensure_ascii=False)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _reading(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, tuple):
        return f"the special key {value[1]!r}"
    return "a date"


def ambiguity_message(value: Ambiguous, expected: str) -> str:
    both = (
        f"YAML 1.2 reads {value.text} as {_reading(value.as12)} "
        f"but YAML 1.1 as {_reading(value.as11)}"
    )
    if expected == "string":
        return f'{both}; quote it: "{value.text}"'
    if expected == "boolean":
        return f"{both}; write true or false"
    return f"{both}; write it unambiguously"


def _expected(schema_type: Any) -> list[str]:
    return [schema_type] if isinstance(schema_type, str) else list(schema_type)


def _translate_branch(error: ValidationError, secrets: frozenset[str]) -> Iterator[SchemaError]:
    """The errors of the alternative the author meant: the one whose type fits the value."""
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    depth = len(error.absolute_path)
    for errors in branches.values():
        mismatch = any(
            e.validator in ("type", "const") and len(e.absolute_path) == depth for e in errors
        )
        if not mismatch:
            for e in errors:
                yield from _translate(e, secrets)
            return
    from jsonschema.exceptions import best_match

    yield from _translate(best_match(error.context or []), secrets)


def field_path(data: Any, path: tuple[str | int, ...]) -> str:
    """``tags[app_id].allowedValues[3]``: tag entries are named by their key, not their index."""
    out = ""
    node = data
    for step in path:
        if isinstance(step, int):
            label: str | int = step
            if isinstance(node, list) and 0 <= step < len(node):
                item = node[step]
                if isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"]:
                    label = item["key"]
                node = item
            else:
                node = None
            out += f"[{label}]"
        else:
            out += f".{step}" if out else step
            node = node.get(step) if isinstance(node, dict) else None
    return out


def _translate(error: ValidationError, secrets: frozenset[str]) -> Iterator[SchemaError]:
    path = tuple(error.absolute_path)
    instance: Any = error.instance
    kw = error.validator
    value: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}

    if isinstance(instance, Ambiguous) and kw in ("type", "enum", "const", "oneOf"):
        branches = schema.get("oneOf", [schema])
        types = [t for b in branches for t in _expected(b.get("type", "string"))]
        expected = "boolean" if "boolean" in types else types[0]
        yield SchemaError(path, ambiguity_message(instance, expected))
        return
    if kw == "additionalProperties":
        known = list(schema.get("properties", {}))
        for key in instance:
            if key in known:
                continue
            hint = difflib.get_close_matches(str(key), known, n=1)
            more = f'; did you mean "{hint[0]}"?' if hint else f" (known: {', '.join(known)})"
            yield SchemaError((*path, key), f'unknown field "{key}"{more}', on_key=True)
        return
    if kw == "required":
        for prop in value:
            if isinstance(instance, dict) and prop not in instance:
                yield SchemaError(path, f'missing required field "{prop}"')
        return
    if kw == "type" and secrets.intersection(map(str, path)):  # never echo what may be a secret
        yield SchemaError(path, "is a secret: write {fromEnv: VARIABLE_NAME}, never the value")
        return
    if kw == "type":
        types = _expected(value)
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        message = f"expected {wanted}, got {describe(instance)}"
        if "string" in types and (isinstance(instance, bool | int | float) or instance is None):
            message += "; quote it to keep it as written"
        yield SchemaError(path, message)
        return
    if kw == "enum":
        choices = ", ".join(str(v) for v in value)
        yield SchemaError(path, f"must be one of {choices}; got {describe(instance)}")
        return
    if kw == "const" and secrets.intersection(map(str, path)):  # never echo what may be a secret
        yield SchemaError(path, 'must be "": a webhook URL never belongs in a file')
        return
    if kw == "const":
        yield SchemaError(path, f"must be {describe(value)}; got {describe(instance)}")
        return
    if kw == "minimum":
        yield SchemaError(path, f"must be {value} or more; got {describe(instance)}")
        return
    if kw == "minLength":
        yield SchemaError(path, "must not be empty")
        return
    if kw == "maxLength":
        yield SchemaError(path, f"must be at most {value} characters long")
        return
    if kw == "minItems":
        yield SchemaError(path, "must not be empty" if value == 1 else f"needs {value} entries")
        return
    if kw == "pattern" and secrets.intersection(map(str, path)):  # never echo what may be a secret
        yield SchemaError(path, "is not an environment variable name (letters, digits, _)")
        return
    if kw == "pattern":
        name = next((n for p, n in _PATTERN_NAMES.items() if str(value).startswith(p)), None)
        what = name or f"the pattern {value}"
        yield SchemaError(path, f"{describe(instance)} is not {what}")
        return
    if kw == "oneOf" and path and path[-1] in secrets and isinstance(instance, str):
        yield SchemaError(
            path,
            "webhook URLs are secrets and must not be written in files: "
            'use {fromEnv: VARIABLE_NAME} (or "" for none)',
        )
        return
    if kw == "oneOf" and path == ("prune",):
        if isinstance(instance, list):
            for sub in error.context or []:
                if sub.validator != "type":
                    yield from _translate(sub, secrets)
            return
        yield SchemaError(path, f"must be true, false or a list of kinds; got {describe(instance)}")
        return
    if kw in ("oneOf", "anyOf") and error.context:
        yield from _translate_branch(error, secrets)
        return
    yield SchemaError(path, error.message)
