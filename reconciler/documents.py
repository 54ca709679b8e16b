"""YAML files -> documents that remember the file, line and column of every node.

libyaml (PyYAML's C parser) produces the events; this module builds plain Python values from
them with an explicit stack, so that:

- every node keeps its position (``Pos``), for messages that name file, line and field;
- duplicate mapping keys are found (PyYAML silently keeps the last one);
- a plain scalar that YAML 1.1 and YAML 1.2 read differently (``yes``, ``010``, ``1e3``,
  ``12:30``, ``2024-01-01``) becomes an ``Ambiguous`` marker that no schema type accepts, so
  validation can say "quote it" instead of guessing;
- a small hostile file can neither exhaust memory nor crash the parser: file size, nesting depth,
  alias expansion and the digits of an integer are capped, and nothing recurses;
- only regular files are read (``open_regular``): a FIFO, socket or device named ``*.yaml`` is
  refused, never opened for reading, and a read inside ``recording()`` is recorded (what a plan
  read is what its digest covers).
"""

from __future__ import annotations

import copy
import math
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from reconciler.errors import InputError

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile file from exhausting memory or time."""

    max_file_bytes: int = 32 * 1024 * 1024
    max_depth: int = 64
    max_alias_nodes: int = 100_000  # nodes that aliases may add on top of the written ones


DEFAULT_LIMITS = Limits()
# Python refuses to convert integers of more decimal digits than this to or from text
# (sys.int_info.default_max_str_digits): such a scalar is refused where it stands.
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS  # the smallest integer of more digits


class LoadError(InputError):
    """A file that cannot be read as YAML at all; carries its location."""

    def __init__(self, file: Path, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.column = column
        self.message = message


class Ambiguous:
    """A plain scalar that YAML 1.1 and YAML 1.2 read as different values."""

    __slots__ = ("as11", "as12", "text")

    def __init__(self, text: str, as11: object, as12: object) -> None:
        self.text = text
        self.as11 = as11
        self.as12 = as12

    def __repr__(self) -> str:
        return f"Ambiguous({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ambiguous) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


class HugeNumber:
    """A plain scalar that reads as an integer of more than ``MAX_INT_DIGITS`` digits: Python
    cannot convert it, and no attribute takes one. The loader refuses it, located."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"HugeNumber({len(self.text)} characters)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HugeNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def message(self) -> str:
        return (
            f"an integer of more than {MAX_INT_DIGITS:,} digits ({len(self.text):,} characters); "
            "no attribute takes one: if it is text, quote it"
        )


class Pos:
    """Where a container stands, and where its children stand.

    Scalars are positioned by a bare ``(line, column)`` tuple, to keep 100,000-value lists cheap.
    For a mapping, ``keys`` holds the position of each key and ``children`` of each value; for a
    sequence, ``children`` is a list.
    """

    __slots__ = ("children", "column", "keys", "line")

    def __init__(self, line: int, column: int, mapping: bool) -> None:
        self.line = line
        self.column = column
        self.keys: dict[str, tuple[int, int]] | None = {} if mapping else None
        self.children: Any = {} if mapping else []


Position = Pos | tuple[int, int]


def position_of(pos: Position) -> tuple[int, int]:
    return (pos.line, pos.column) if isinstance(pos, Pos) else pos


def locate(pos: Position, path: tuple[str | int, ...], *, key: bool = False) -> tuple[int, int]:
    """The position of ``path`` inside a node, or of its deepest existing ancestor.

    With ``key=True`` the last step points at the mapping key instead of its value (for
    "unknown field" messages).
    """
    current = pos
    for i, step in enumerate(path):
        if not isinstance(current, Pos):
            break
        children = current.children
        if isinstance(children, dict):
            if step not in children:
                break
            if key and i == len(path) - 1 and current.keys is not None:
                return current.keys[str(step)]
            current = children[step]
        else:
            if not isinstance(step, int) or not 0 <= step < len(children):
                break
            current = children[step]
    return position_of(current)


@dataclass
class Document:
    """One YAML document: its plain data and the positions of its nodes."""

    file: Path
    index: int
    data: Any
    pos: Position
    duplicate_keys: list[tuple[tuple[str | int, ...], str, tuple[int, int], int]] = field(
        default_factory=list
    )  # (path of the mapping, key, position of the repeat, line of the first)

    def locate(self, path: tuple[str | int, ...], *, key: bool = False) -> tuple[int, int]:
        return locate(self.pos, path, key=key)

    def node(self, path: tuple[str | int, ...]) -> Position | None:
        """The positions of the node at ``path`` (None if there is none): what a caller keeps
        to locate inside that node later, without keeping the whole document alive."""
        current: Position = self.pos
        for step in path:
            if not isinstance(current, Pos):
                return None
            children = current.children
            if isinstance(children, dict):
                if step not in children:
                    return None
                current = children[step]
            elif isinstance(step, int) and 0 <= step < len(children):
                current = children[step]
            else:
                return None
        return current


# --- plain scalar resolution: YAML 1.2 core schema and YAML 1.1 types ----------------------

_NULL = frozenset(("", "~", "null", "Null", "NULL"))
_BOOL12 = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_BOOL12["FALSE"] = False
_BOOL11 = dict(_BOOL12)
for _w in ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"):
    _BOOL11[_w] = True
for _w in ("n", "N", "no", "No", "NO", "off", "Off", "OFF"):
    _BOOL11[_w] = False

_INT12 = re.compile(r"[-+]?[0-9]+\Z")
_OCT12 = re.compile(r"0o[0-7]+\Z")
_HEX12 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT12 = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")

_INT11 = re.compile(
    r"[-+]?(0b[0-1_]+|0[0-7_]+|(0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|[1-9][0-9_]*(:[0-5]?[0-9])+)\Z"
)
_FLOAT11 = re.compile(
    r"[-+]?(([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?|[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*)\Z"
)
_TIMESTAMP11 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:"
    r"[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?\Z"
)
# First characters that can start a non-string plain scalar in either version.
_SPECIAL_START = frozenset("0123456789+-.~nNtTfFyYoO<=")
# a scalar starting with one of these letters is special only as one of the words above
# (every number, timestamp, .inf or .nan starts with a digit, a sign or a dot)
_WORD_START = frozenset("nNtTfFyYoO")


class _Timestamp:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Timestamp)

    def __hash__(self) -> int:
        return 0


_TS = _Timestamp()


def _int(digits: str, base: int) -> int | HugeNumber:
    """``int(digits, base)``, or ``HugeNumber`` when Python could not convert it to or from text."""
    if base == 10:  # Python counts the digits written, leading zeros included
        return HugeNumber(digits) if len(digits.lstrip("+-")) > MAX_INT_DIGITS else int(digits)
    value = int(digits, base)  # a power of two: converts, but could never be printed
    return HugeNumber(digits) if abs(value) >= _INT_LIMIT else value


def _read12(text: str) -> object:
    if text in _NULL:
        return None
    if text in _BOOL12:
        return _BOOL12[text]
    if _INT12.match(text):
        return _int(text, 10)
    if _OCT12.match(text):
        return _int(text[2:], 8)
    if _HEX12.match(text):
        return _int(text[2:], 16)
    if _FLOAT12.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


def _sexagesimal(text: str) -> float:
    sign = -1 if text.startswith("-") else 1
    total = 0.0
    for part in text.lstrip("+-").split(":"):
        total = total * 60 + float(part)
    return sign * total


def _read11(text: str) -> object:
    if text in _NULL:
        return None
    if text in _BOOL11:
        return _BOOL11[text]
    if text in ("<<", "="):
        return ("yaml-1.1", text)  # merge key / value key: never a plain string in 1.1
    clean = text.replace("_", "")
    if _INT11.match(text):
        body = clean.lstrip("+-")
        sign = -1 if clean.startswith("-") else 1
        if ":" in body:
            total = _sexagesimal(clean)
            return int(total) if math.isfinite(total) else total
        if body.startswith("0b"):
            value = _int(body[2:] or "0", 2)
        elif body.startswith("0x"):
            value = _int(body[2:] or "0", 16)
        elif len(body) > 1 and body.startswith("0"):
            value = _int(body, 8)
        else:
            value = _int(body, 10)
        return value if isinstance(value, HugeNumber) else sign * value
    if _FLOAT11.match(text) and any(c.isdigit() for c in text):
        if ":" in clean:
            return _sexagesimal(clean)
        return float(clean)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    if _TIMESTAMP11.match(text):
        return _TS
    return text


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # both NaN
    return a == b


def resolve_plain(text: str) -> object:
    """The value of a plain (unquoted, untagged) scalar, or ``Ambiguous`` if 1.1 and 1.2 differ."""
    if not text:
        return None
    first = text[0]
    if first not in _SPECIAL_START:
        return text
    if first in _WORD_START and text not in _BOOL11 and text not in _NULL:
        return text  # "team-a", "Tag everything": never read as anything but a string
    as12 = _read12(text)
    as11 = _read11(text)
    if isinstance(as12, HugeNumber) or isinstance(as11, HugeNumber):
        return HugeNumber(text)
    if _same(as11, as12):
        return as12
    return Ambiguous(text, as11, as12)


# --- the builder -------------------------------------------------------------------------

_STR_TAG = "tag:yaml.org,2002:str"
_SUPPORTED_TAGS = {
    _STR_TAG: "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
}
_CONTAINER_TAGS = {None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _explicit(text: str, tag: str, line: int, col: int, file: Path) -> object:
    kind = _SUPPORTED_TAGS.get(tag)
    if kind == "str":
        return text
    value = _read12(text)
    if isinstance(value, HugeNumber):
        raise LoadError(file, line, col, value.message())
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "null": value is None,
    }.get(kind or "", False)
    if kind is None:
        raise LoadError(file, line, col, f"YAML tag {tag!r} is not supported; remove it")
    if not ok:
        raise LoadError(file, line, col, f"{text!r} is not a valid {tag}")
    return float(value) if kind == "float" else value  # type: ignore[arg-type]


class _Frame:
    __slots__ = ("anchor", "dup", "key", "key_pos", "pos", "size", "value")

    def __init__(self, value: Any, pos: Pos, anchor: str | None) -> None:
        self.value = value
        self.pos = pos
        self.anchor = anchor
        self.key: str | None = None  # pending key of a mapping
        self.key_pos: tuple[int, int] = (0, 0)
        self.size = 1


def decode_utf8(raw: bytes, file: Path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError(file, 1, 1, "file is UTF-16; save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise LoadError(
            file,
            line,
            column,
            f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
        ) from None
    return text


_FILE_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_regular(mode: int) -> str | None:
    """What a file of this ``st_mode`` is, in words, when it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((what for test, what in _FILE_TYPES if test(mode)), "not a regular file")


_reads: ContextVar[list[Path] | None] = ContextVar("reconciler_reads", default=None)


@contextmanager
def recording() -> Iterator[list[Path]]:
    """Every file ``open_regular`` opens inside the block, in order (a nested block's files
    count for the outer one too)."""
    outer = _reads.get()
    files: list[Path] = []
    token = _reads.set(files)
    try:
        yield files
    finally:
        _reads.reset(token)
        if outer is not None:
            outer.extend(files)


def open_regular(file: Path) -> BinaryIO:
    """``file`` opened for reading in binary, only if it is a regular file: a FIFO, a socket or
    a device raises LoadError (at line 1) without being opened for reading, so it can neither
    hang a command nor be read endlessly. Inside ``recording()``, the file is recorded."""
    try:
        kind = not_regular(os.stat(file).st_mode)
        if kind is not None:
            raise LoadError(
                file, 1, 1, f"is {kind}, not a regular file; only regular files are read"
            )
        # O_NONBLOCK: if a FIFO took the file's place since the stat, opening it does not wait
        # for a writer; the fstat below then refuses it.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(file, flags | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise LoadError(file, 1, 1, f"cannot read file: {exc.strerror or exc}") from None
    try:
        kind = not_regular(os.fstat(fd).st_mode)
        if kind is not None:
            raise LoadError(
                file, 1, 1, f"is {kind}, not a regular file; only regular files are read"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    files = _reads.get()
    if files is not None:
        files.append(file)
    return handle


def read_capped(fh: BinaryIO, cap: int) -> bytes:
    """The file's bytes, at most ``cap + 1`` (one more than allowed tells an oversized file).
    Reading ``cap + 1`` at once would reserve the whole cap for every file, 32 MiB for a
    file of 2 KiB: the buffer is sized by the file instead, and a file that grew since is
    read on, up to the cap."""
    size = min(os.fstat(fh.fileno()).st_size, cap)
    raw = fh.read(size + 1)
    if len(raw) <= size:
        return raw  # the whole file
    return raw + fh.read(cap + 1 - len(raw))


def read_text(file: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """A file's text, refusing oversized and non-UTF-8 files with a located message."""
    try:
        with open_regular(file) as fh:
            raw = read_capped(fh, limits.max_file_bytes)
    except OSError as exc:
        raise LoadError(file, 1, 1, f"cannot read file: {exc.strerror or exc}") from None
    if len(raw) > limits.max_file_bytes:
        raise LoadError(
            file, 1, 1, f"file is larger than {limits.max_file_bytes // (1024 * 1024)} MiB"
        )
    return decode_utf8(raw, file)


def load_documents(file: Path, limits: Limits = DEFAULT_LIMITS) -> list[Document]:
    """Every document of one YAML file; raises LoadError for a file that is not usable YAML."""
    return list(iter_documents(read_text(file, limits), file, limits))


def iter_documents(text: str, file: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[Document]:
    loader = _Loader(text)
    try:
        yield from _build(loader, file, limits)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except yaml.YAMLError as exc:
        raise LoadError(file, 1, 1, f"YAML error: {exc}") from None
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, file: Path) -> LoadError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"YAML syntax error: {exc.problem or 'invalid YAML'}"
    if exc.context:
        message += f" {exc.context}"
        start = exc.context_mark
        if start is not None and start.line + 1 != line:
            message += f" that starts at line {start.line + 1}"
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        message += "; tabs cannot indent YAML: use spaces"
    return LoadError(file, line, col, message)


def _build(loader: Any, file: Path, limits: Limits) -> Iterator[Document]:
    get_event = loader.get_event
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, Position, int]] = {}
    alias_nodes = 0
    index = 0
    duplicates: list[tuple[tuple[str | int, ...], str, tuple[int, int], int]] = []
    root: tuple[Any, Position] | None = None
    Scalar = yaml.ScalarEvent
    MappingStart = yaml.MappingStartEvent
    SequenceStart = yaml.SequenceStartEvent
    MappingEnd = yaml.MappingEndEvent
    SequenceEnd = yaml.SequenceEndEvent
    Alias = yaml.AliasEvent

    def path_of_stack() -> tuple[str | int, ...]:
        """The path of the innermost open container (each outer one is adding it now)."""
        return tuple(
            len(frame.value) if type(frame.value) is list else (frame.key or "")
            for frame in stack[:-1]
        )

    def attach(value: Any, pos: Position, size: int, line: int, col: int) -> None:
        nonlocal root
        if not stack:
            root = (value, pos)
            return
        top = stack[-1]
        top.size += size
        container = top.value
        if type(container) is list:
            container.append(value)
            top.pos.children.append(pos)
            return
        if top.key is None:  # this node is a key
            if not isinstance(value, str):
                raise LoadError(file, line, col, "mapping keys must be strings")
            top.key = value
            top.key_pos = (line, col)
            return
        key = top.key
        top.key = None
        keys = top.pos.keys
        assert keys is not None
        if key in container:
            duplicates.append((path_of_stack(), key, top.key_pos, keys[key][0]))
        else:
            keys[key] = top.key_pos
            container[key] = value
            top.pos.children[key] = pos

    while True:
        event = get_event()
        if event is None:
            break
        cls = type(event)
        if cls is Scalar:
            mark = event.start_mark
            line = mark.line + 1
            col = mark.column + 1
            text = event.value
            if not event.style and event.implicit[0]:
                value: Any = resolve_plain(text)
                if type(value) is HugeNumber and not (
                    stack and type(stack[-1].value) is dict and stack[-1].key is None
                ):
                    raise LoadError(file, line, col, value.message())
            elif event.tag is None or event.tag == "!":
                value = text
            else:
                value = _explicit(text, event.tag, line, col, file)
            if stack and type(stack[-1].value) is dict and stack[-1].key is None:
                # a key: keep its text exactly as written (``on:`` is the key "on")
                value = text
            if event.anchor:
                anchors[event.anchor] = (value, (line, col), 1)
            attach(value, (line, col), 1, line, col)
        elif cls is MappingStart or cls is SequenceStart:
            mark = event.start_mark
            if event.tag not in _CONTAINER_TAGS:
                raise LoadError(
                    file, mark.line + 1, mark.column + 1, f"YAML tag {event.tag!r} is not supported"
                )
            if stack and type(stack[-1].value) is dict and stack[-1].key is None:
                raise LoadError(
                    file, mark.line + 1, mark.column + 1, "mapping keys must be strings"
                )
            if len(stack) >= limits.max_depth:
                raise LoadError(
                    file,
                    mark.line + 1,
                    mark.column + 1,
                    f"nesting deeper than {limits.max_depth} levels",
                )
            is_map = cls is MappingStart
            stack.append(
                _Frame(
                    {} if is_map else [], Pos(mark.line + 1, mark.column + 1, is_map), event.anchor
                )
            )
        elif cls is MappingEnd or cls is SequenceEnd:
            frame = stack.pop()
            if frame.anchor:
                anchors[frame.anchor] = (frame.value, frame.pos, frame.size)
            attach(frame.value, frame.pos, frame.size, frame.pos.line, frame.pos.column)
        elif cls is Alias:
            mark = event.start_mark
            line, col = mark.line + 1, mark.column + 1
            if event.anchor not in anchors:  # libyaml reports this itself; belt and braces
                raise LoadError(file, line, col, f"unknown alias *{event.anchor}")
            value, pos, size = anchors[event.anchor]
            alias_nodes += size
            if alias_nodes > limits.max_alias_nodes:
                raise LoadError(
                    file,
                    line,
                    col,
                    f"aliases expand to more than {limits.max_alias_nodes:,} nodes "
                    "(an alias bomb?); write the values out",
                )
            if stack and type(stack[-1].value) is dict and stack[-1].key is None:
                raise LoadError(file, line, col, "aliases cannot be used as mapping keys")
            attach(copy.deepcopy(value), pos, size, line, col)
        elif cls is yaml.DocumentEndEvent:
            if root is not None:
                yield Document(file, index, root[0], root[1], duplicates)
            else:  # an empty document
                yield Document(file, index, None, (event.start_mark.line + 1, 1), duplicates)
            index += 1
            root = None
            duplicates = []
            anchors = {}
        elif cls is yaml.StreamEndEvent:
            break
