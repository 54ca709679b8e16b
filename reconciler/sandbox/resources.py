"""The kinds of object served: their attributes, validation, PATCH merging and defaults on read.

Objects are stored as sent (validated, with nested ``null`` fields dropped) and completed with
defaults when read. Unknown top-level attributes are refused; unknown keys nested inside objects
(``filters``, ``tags`` entries, any ``fields`` validator) are carried and returned as sent. The
validators (``text``, ``boolean``, ``strings``, ``threshold``, ``one_of``, ``fields``) are what
a new kind's entry is made of (docs/adding-a-kind.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from reconciler.sandbox.jsonapi import MAX_STRING, ApiError, ErrorItem, pointer

MAX_NAME = 255

Errors = list[ErrorItem]
Validator = Callable[[Any, str, Errors], Any]


def _error(errors: Errors, at: str, detail: str) -> None:
    errors.append(ErrorItem(400, detail, at))


def text(*, non_empty: bool = False, max_length: int = MAX_STRING) -> Validator:
    def check(value: Any, at: str, errors: Errors) -> Any:
        if not isinstance(value, str):
            _error(errors, at, "must be a string")
        elif non_empty and not value.strip():
            _error(errors, at, "must not be empty")
        elif len(value) > max_length:
            _error(errors, at, f"must be at most {max_length} characters")
        return value

    return check


def boolean(value: Any, at: str, errors: Errors) -> Any:
    if not isinstance(value, bool):
        _error(errors, at, "must be true or false")
    return value


def strings(value: Any, at: str, errors: Errors) -> Any:
    if not isinstance(value, list):
        _error(errors, at, "must be a list of strings")
        return value
    for i, item in enumerate(value):
        if not isinstance(item, str):
            _error(errors, f"{at}/{i}", "must be a string")
    return value


def threshold(value: Any, at: str, errors: Errors) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _error(errors, at, "must be a number or null")
    elif value < 0:
        _error(errors, at, "must not be negative")
    return value


def one_of(*allowed: str) -> Validator:
    def check(value: Any, at: str, errors: Errors) -> Any:
        if value not in allowed:
            _error(errors, at, f"must be one of {', '.join(allowed)}")
        return value

    return check


def _webhook_url(value: Any, at: str, errors: Errors) -> Any:
    text()(value, at, errors)
    if isinstance(value, str) and value and not value.startswith(("https://", "http://")):
        _error(errors, at, 'must be "" or an http(s) URL')
    return value


def fields(value: Any, at: str, errors: Errors, known: Mapping[str, Validator]) -> Any:
    """An object whose known fields are validated (null: dropped) and unknown fields carried."""
    if not isinstance(value, dict):
        _error(errors, at, "must be an object")
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        check = known.get(key)
        if check is None:
            result[key] = item
        elif item is not None:
            result[key] = check(item, f"{at}{pointer(key)}", errors)
    return result


_FILTER_FIELDS: dict[str, Validator] = {"include": strings, "exclude": strings}


def _filter(value: Any, at: str, errors: Errors) -> Any:
    return fields(value, at, errors, _FILTER_FIELDS)


def _filters(*names: str) -> Validator:
    known = dict.fromkeys(names, _filter)

    def check(value: Any, at: str, errors: Errors) -> Any:
        return fields(value, at, errors, known)

    return check


_TAG_FIELDS: dict[str, Validator] = {
    "key": text(non_empty=True),
    "mandatory": boolean,
    "valueType": one_of("ANY", "LIST", "REGEX"),
    "allowedValues": strings,
    "allowedRegex": text(),
    "message": text(),
}
_TAG_DEFAULTS: dict[str, Any] = {
    "mandatory": False,
    "valueType": "ANY",
    "allowedValues": [],
    "allowedRegex": "",
    "message": "",
}


def _tag(value: Any, at: str, errors: Errors) -> Any:
    entry = fields(value, at, errors, _TAG_FIELDS)
    if not isinstance(entry, dict):
        return entry
    if "key" not in entry:
        _error(errors, f"{at}/key", "key is required")
    value_type = entry.get("valueType")
    if value_type == "LIST" and not entry.get("allowedValues"):
        _error(errors, f"{at}/allowedValues", "valueType LIST needs allowedValues")
    if value_type == "REGEX" and not entry.get("allowedRegex"):
        _error(errors, f"{at}/allowedRegex", "valueType REGEX needs allowedRegex")
    return entry


def _tags(value: Any, at: str, errors: Errors) -> Any:
    if not isinstance(value, list):
        _error(errors, at, "must be a list of tag objects")
        return value
    seen: set[str] = set()
    result = []
    for i, item in enumerate(value):
        entry = _tag(item, f"{at}/{i}", errors)
        key = entry.get("key") if isinstance(entry, dict) else None
        if isinstance(key, str):
            if key in seen:
                _error(errors, f"{at}/{i}/key", f"tag key {key!r} appears more than once")
            seen.add(key)
        result.append(entry)
    return result


def _fill_filters(value: dict[str, Any], names: Collection[str]) -> dict[str, Any]:
    return {
        name: {"include": [], "exclude": [], **entry} if name in names else entry
        for name, entry in value.items()
    }


def _fill_tags(value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": entry["key"], **_TAG_DEFAULTS, "allowedValues": [], **entry} for entry in value]


_UNSET = object()


def _fresh(default: Any) -> Any:
    """A default of its own: the defaults are empty lists and objects, or scalars."""
    if isinstance(default, list | dict):
        return copy.deepcopy(default) if default else type(default)()
    return default


@dataclass(frozen=True)
class Attribute:
    validate: Validator
    default: Any = None  # copied on read when the attribute is unset
    required: bool = False


@dataclass(frozen=True)
class Kind:
    type: str  # the JSON:API type and URL segment
    quirk_type: str  # the response type under the ``other_type`` quirk
    attributes: Mapping[str, Attribute]  # in the order they are returned
    filter_names: tuple[str, ...]
    ordered_lists: tuple[str, ...]  # top-level string lists reversed by the ``reorder`` quirk

    def with_defaults(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The attributes as read, every default filled. ``stored`` is this request's own copy
        (parsed from the database, or just built from the request): it is not copied again,
        only the defaults are, which every object shares (a deep copy per object cost most of
        a listing)."""
        result = {}
        for name, default in self._defaults:
            value = stored.get(name, _UNSET)
            result[name] = _fresh(default) if value is _UNSET else value
        filters = result.get("filters")
        if self.filter_names and filters:
            result["filters"] = _fill_filters(filters, self.filter_names)
        if "tags" in result:
            result["tags"] = _fill_tags(result["tags"])
        return result

    @cached_property
    def _defaults(self) -> tuple[tuple[str, Any], ...]:
        return tuple((name, spec.default) for name, spec in self.attributes.items())

    def create(self, attributes: Any) -> dict[str, Any]:
        """The attributes to store for a POST; ApiError 400 listing every problem."""
        errors: Errors = []
        stored = self._merge({}, attributes, errors)
        for name, spec in self.attributes.items():
            if spec.required and name not in stored and not _mentioned(attributes, name):
                _error(errors, pointer("data", "attributes", name), f"{name} is required")
        if errors:
            raise ApiError(400, items=errors)
        return stored

    def patch(self, current: Mapping[str, Any], attributes: Any) -> dict[str, Any]:
        """``current`` with a PATCH applied: present attributes replace, null resets."""
        errors: Errors = []
        stored = self._merge(current, {} if attributes is None else attributes, errors)
        if errors:
            raise ApiError(400, items=errors)
        return stored

    def _merge(self, base: Mapping[str, Any], attributes: Any, errors: Errors) -> dict[str, Any]:
        if not isinstance(attributes, dict):
            _error(errors, "/data/attributes", "attributes must be an object")
            return dict(base)
        result = dict(base)
        for name, value in attributes.items():
            at = pointer("data", "attributes", name)
            spec = self.attributes.get(name)
            if spec is None:
                _error(errors, at, f"unknown attribute {name!r}")
            elif value is None and spec.required:
                _error(errors, at, f"{name} is required and cannot be null")
            elif value is None:
                result.pop(name, None)
            else:
                result[name] = spec.validate(value, at, errors)
        return result


def _mentioned(attributes: Any, name: str) -> bool:
    """Whether a required attribute was sent (as null): that error is already reported."""
    return isinstance(attributes, dict) and name in attributes


TAGGING_POLICIES = Kind(
    type="tagging-policies",
    quirk_type="tagging_policy",
    attributes={
        "name": Attribute(text(non_empty=True, max_length=MAX_NAME), "", required=True),
        "message": Attribute(text(), ""),
        "prComment": Attribute(boolean, True),
        "blockPr": Attribute(boolean, False),
        "filters": Attribute(_filters("repos", "projects", "baseBranches", "resources"), {}),
        "tags": Attribute(_tags, [], required=True),
    },
    filter_names=("repos", "projects", "baseBranches", "resources"),
    ordered_lists=(),
)

GUARDRAILS = Kind(
    type="guardrails",
    quirk_type="guardrail",
    attributes={
        "name": Attribute(text(non_empty=True, max_length=MAX_NAME), "", required=True),
        "scope": Attribute(one_of("PULL_REQUEST", "PROJECT", "REPO"), "", required=True),
        "increaseThreshold": Attribute(threshold),
        "increasePercentThreshold": Attribute(threshold),
        "totalThreshold": Attribute(threshold),
        "message": Attribute(text(), ""),
        "webhookUrl": Attribute(_webhook_url, ""),
        "prComment": Attribute(boolean, False),
        "blockPr": Attribute(boolean, False),
        "emailRecipientOrgMemberIds": Attribute(strings, []),
        "mailingListEmails": Attribute(strings, []),
        "msTeamsEmails": Attribute(strings, []),
        "filters": Attribute(_filters("repos", "projects", "baseBranches"), {}),
    },
    filter_names=("repos", "projects", "baseBranches"),
    ordered_lists=("emailRecipientOrgMemberIds", "mailingListEmails", "msTeamsEmails"),
)

KINDS: dict[str, Kind] = {kind.type: kind for kind in (TAGGING_POLICIES, GUARDRAILS)}


@contextmanager
def registered(kind: Kind) -> Iterator[Kind]:
    """Serve another kind, for apps made while it is registered (a test's new kind)."""
    if kind.type in KINDS:
        raise ValueError(f"{kind.type} is already served")
    KINDS[kind.type] = kind
    try:
        yield kind
    finally:
        del KINDS[kind.type]


def reorder(kind: Kind, attributes: dict[str, Any]) -> dict[str, Any]:
    """The ``reorder`` quirk: every list of a read object reversed (in place, returned)."""
    for name in kind.ordered_lists:
        attributes[name].reverse()
    for name in kind.filter_names:
        entry = attributes["filters"].get(name)
        if isinstance(entry, dict):
            entry["include"].reverse()
            entry["exclude"].reverse()
    if "tags" in attributes:
        attributes["tags"].reverse()
        for tag in attributes["tags"]:
            tag["allowedValues"].reverse()
    return attributes
