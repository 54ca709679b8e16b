"""The registry of resource kinds: each kind is described once, here.

The order of ``KINDS`` is the apply order (creates and updates in this order, deletes in reverse).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    schema: str  # file name in schemas/
    api_path: str  # under /v1/orgs/{org}/
    jsonapi_type: str
    named: bool = True  # identity is (kind, name); False: at most one document of the kind
    # Lists compared as sets. A path is a tuple of keys; "*" is any key of a mapping and "[]"
    # every element of a list.
    set_fields: tuple[tuple[str, ...], ...] = ()
    keyed_lists: tuple[tuple[str, str], ...] = ()  # (list field, key field)
    secret_fields: tuple[str, ...] = ()
    tool_only: tuple[str, ...] = ("kind", "id", "absent", "protect")  # never sent to the API


_FILTER_SETS = (("filters", "*", "include"), ("filters", "*", "exclude"))

TAGGING_POLICY = Kind(
    name="TaggingPolicy",
    schema="tagging-policy.schema.json",
    api_path="tagging-policies",
    jsonapi_type="tagging-policies",
    set_fields=(*_FILTER_SETS, ("tags", "[]", "allowedValues")),
    keyed_lists=(("tags", "key"),),
)
GUARDRAIL = Kind(
    name="Guardrail",
    schema="guardrail.schema.json",
    api_path="guardrails",
    jsonapi_type="guardrails",
    set_fields=(
        *_FILTER_SETS,
        ("emailRecipientOrgMemberIds",),
        ("mailingListEmails",),
        ("msTeamsEmails",),
    ),
    secret_fields=("webhookUrl",),
)
CUSTOM_PROPERTIES = Kind(
    name="CustomProperties",
    schema="custom-properties.schema.json",
    api_path="custom-properties",
    jsonapi_type="custom-properties",
    named=False,
)

KINDS: dict[str, Kind] = {k.name: k for k in (TAGGING_POLICY, GUARDRAIL, CUSTOM_PROPERTIES)}
CONFIG_SCHEMA = "config.schema.json"
