"""The ServiceNow Table API client: every record of a table that a query selects, page by page.

Built on the one transport (Basic auth or a bearer token, retries on 429 with ``Retry-After``
and on 5xx for these GETs, deadlines, scrubbing of the credentials). Pages of at most 10,000
records (ServiceNow's own cap) follow ``Link: rel="next"``; ``X-Total-Count`` is cross-checked
with the number of distinct records, since paging by offset can skip or repeat a row when the
table changes during the pull. Errors name ServiceNow's own reason (``User Not Authenticated``,
an ACL, an invalid table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from requests.auth import AuthBase

from reconciler.http.transport import (
    Client,
    HttpError,
    NoAnswer,
    Transport,
    TransportSettings,
    is_success,
)

PAGE_SIZE = 10_000  # ServiceNow answers at most this many records a request by default


class ServiceNowError(HttpError):
    """A request to ServiceNow that failed."""

    service = "ServiceNow "


class ServiceNowNoAnswer(NoAnswer):
    service = "ServiceNow "


@dataclass
class Fetched:
    """The records of one table, as strings, with what paging said about them."""

    records: list[dict[str, str]] = field(default_factory=list)
    total: int | None = None  # X-Total-Count of the first page
    pages: int = 0
    repeated: int = 0  # records seen on two pages (the table moved during the pull)


class ServiceNow(Client):
    """One instance: ``https://<name>.service-now.com`` (http only on a loopback address)."""

    def __init__(
        self,
        instance: str,
        auth: AuthBase,
        settings: TransportSettings | None = None,
        *,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        options: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
        self.transport = Transport(
            instance.strip().rstrip("/"),
            settings if settings is not None else TransportSettings(),
            auth,
            what="the ServiceNow instance URL",
            headers={"Accept": "application/json"},
            error=ServiceNowError,
            no_answer=ServiceNowNoAnswer,
            secrets=secrets,
            **options,
        )
        self.instance = self.transport.base_url

    def __repr__(self) -> str:
        return f"ServiceNow({self.instance!r})"

    def records(
        self,
        table: str,
        *,
        query: str,
        fields: Sequence[str],
        page_size: int = PAGE_SIZE,
        progress: Callable[[int, int, int | None], None] | None = None,
    ) -> Fetched:
        """Every record the query selects, with ``fields`` (and ``sys_id``) as raw strings.

        ``progress(pages, records, total)`` is called after each page.
        """
        wanted = list(dict.fromkeys(["sys_id", *fields]))
        params = {
            "sysparm_query": query,
            "sysparm_fields": ",".join(wanted),
            "sysparm_limit": str(page_size),
            "sysparm_offset": "0",
            "sysparm_display_value": "false",
            "sysparm_exclude_reference_link": "true",
        }
        first = f"{self.instance}/api/now/table/{quote(table, safe='')}?{urlencode(params)}"
        fetched = Fetched()
        seen: set[str] = set()

        def read(url: str) -> tuple[list[dict[str, str]], str | None]:
            response = self.transport.send("GET", url)
            if not is_success(response):
                raise self._failure(url, response.status_code, response)
            if fetched.total is None:
                fetched.total = _count(response.headers.get("X-Total-Count"))
            page = [_record(item) for item in _result(self, url, response)]
            fetched.pages += 1
            if progress is not None:
                progress(fetched.pages, len(fetched.records) + len(page), fetched.total)
            return page, response.links.get("next", {}).get("url") if page else None

        for record in self.transport.pages(first, read, label='Link rel="next"'):
            key = record.get("sys_id") or repr(sorted(record.items()))
            if key in seen:
                fetched.repeated += 1
                continue
            seen.add(key)
            fetched.records.append(record)
        return fetched

    def _failure(self, url: str, status: int, response: Any) -> ServiceNowError:
        hint = ""
        if status == 401:
            hint = "check the user and password (or the token) the source names in reconciler.yaml"
        elif status == 403:
            hint = "the user may not read this table: ServiceNow's ACLs deny it"
        elif status == 400:
            hint = "check the table name and the query"
        return ServiceNowError(
            "GET", self.transport.path(url), status, self.transport.describe(response), hint=hint
        )


def _result(client: ServiceNow, url: str, response: Any) -> list[Any]:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        raise ServiceNowError(
            "GET", client.transport.path(url), response.status_code, "malformed answer: not JSON"
        ) from None
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        raise ServiceNowError(
            "GET",
            client.transport.path(url),
            response.status_code,
            'malformed answer: no "result" list',
        )
    return result


def _record(item: Any) -> dict[str, str]:
    """A record's values as strings: a reference field's ``value`` when it comes as a link."""
    if not isinstance(item, Mapping):
        return {}
    out: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, Mapping):
            value = value.get("value", "")
        out[str(key)] = "" if value is None else str(value)
    return out


def _count(header: str | None) -> int | None:
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())
