"""Generated parts of the docs: the format reference (from the schemas) and the CLI reference
(from --help). tests/test_docs.py checks that docs/ holds exactly this; to update docs/ after a
change, run ``python tests/docgen.py``."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN GENERATED: do not edit; run python tests/docgen.py -->"
END = "<!-- END GENERATED -->"


def _schemas() -> list[tuple[str, str]]:
    """(title, schema file) of every kind, as the registry lists them, then the config."""
    from reconciler import kinds

    return [
        *((kind.name, kind.schema) for kind in kinds.OBJECT_KINDS.values()),
        (kinds.TABLE.name, kinds.TABLE.schema),
        ("reconciler.yaml", kinds.CONFIG_SCHEMA),
    ]


def _type(schema: dict[str, Any]) -> str:
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "oneOf" in schema:
        return " or ".join(_type(s) for s in schema["oneOf"])
    t = schema.get("type", "any")
    if isinstance(t, list):
        return " or ".join(t)
    if t == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if t == "object" and "fromEnv" in schema.get("properties", {}):
        return "`{fromEnv: NAME}`"
    return str(t)


def _rows(schema: dict[str, Any], prefix: str, required: set[str]) -> list[str]:
    rows = []
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        default = (
            "required"
            if name in required
            else f"`{json.dumps(sub['default'])}`"
            if "default" in sub
            else "optional"
        )
        desc = sub.get("description", "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{path}` | {_type(sub)} | {default} | {desc} |")
        if sub.get("type") == "object" and "properties" in sub:
            rows.extend(_rows(sub, f"{path}.", set(sub.get("required", []))))
        items = sub.get("items", {})
        if sub.get("type") == "array" and "properties" in items:
            rows.extend(_rows(items, f"{path}[].", set(items.get("required", []))))
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict) and "properties" in extra:
            rows.extend(_rows(extra, f"{path}.<key>.", set()))
    return rows


def format_reference() -> str:
    out = []
    for title, file in _schemas():
        schema = json.loads((ROOT / "schemas" / file).read_text())
        out.append(f"### {title}\n")
        out.append(f"{schema['description']}\n")
        out.append(f"Schema: [`schemas/{file}`](../schemas/{file})\n")
        out.append("| attribute | type | default | description |")
        out.append("|---|---|---|---|")
        out.extend(_rows(schema, "", set(schema.get("required", []))))
        out.append("")
    return "\n".join(out)


def cli_reference() -> str:
    from reconciler.cli import build_parser
    from reconciler.commands import COMMANDS

    os.environ["COLUMNS"] = "100"
    parser = build_parser()
    out = ["### reconciler\n", "```", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert isinstance(sub.choices, dict)
    for name in COMMANDS:
        p = sub.choices[name]
        out += [f"### reconciler {name}\n", "```", p.format_help().rstrip(), "```", ""]
        nested = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        for action in nested:
            for child, cp in action.choices.items():
                out += [
                    f"#### reconciler {name} {child}\n",
                    "```",
                    cp.format_help().rstrip(),
                    "```",
                    "",
                ]
    return "\n".join(out)


def generated(text: str) -> str:
    match = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.DOTALL)
    return match.group(1) if match else ""


def write(path: Path, content: str) -> None:
    text = path.read_text()
    start, end = text.index(BEGIN) + len(BEGIN) + 1, text.index(END)
    path.write_text(text[:start] + content + text[end:])


if __name__ == "__main__":
    with redirect_stdout(io.StringIO()):
        write(ROOT / "docs" / "format.md", format_reference())
        write(ROOT / "docs" / "cli.md", cli_reference())
    sys.exit(0)
