"""Odd live data never crashes the planner (issue 13, item 3) and booleans never equal numbers
(item 7).

The API may hold what the sandbox would refuse: a list or an object in a set of values, a name
with a lone surrogate, an answer nested 200,000 deep. One such object is set aside, alone, with
its kind, id and field named; every other object is planned; no command exits 3. Pure
functions get literal data; the commands run against a sandbox on 127.0.0.1 whose store the
tests write to directly (bypassing its validation), or a tiny server that answers odd JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler import kinds
from reconciler.diff import diff_kind
from reconciler.model import LiveObject, Location, Resource
from reconciler.normalize import (
    MAX_DEPTH,
    Unreadable,
    equal,
    nested_deeper_than,
    normalize_live,
    plain,
    set_minus,
    sorted_values,
    state_fingerprint,
)
from tests.helpers.cli import against, run
from tests.helpers.sandbox import SandboxOrg, SandboxServer

POLICY = kinds.OBJECT_KINDS["TaggingPolicy"]
GUARDRAIL = kinds.OBJECT_KINDS["Guardrail"]


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


# --- booleans and numbers (item 7): literal data ------------------------------------------------


def test_booleans_never_equal_numbers_not_even_in_sets() -> None:
    assert not equal(1, True)
    assert not equal(0, False)
    assert not equal((1, "a"), (True, "a"))
    assert not equal({"blockPr": 1}, {"blockPr": True})
    assert not equal(frozenset({1}), frozenset({True}))
    assert not equal(frozenset({0, "a"}), frozenset({False, "a"}))
    assert equal(100, 100.0)
    assert equal(frozenset({1, "a"}), frozenset({1.0, "a"}))
    assert equal(frozenset({True}), frozenset({True}))


def test_a_set_change_from_1_to_true_is_shown_as_one() -> None:
    assert set_minus(frozenset({True, "a"}), frozenset({1, "a"})) == frozenset({True})
    assert set_minus(frozenset({1, "a"}), frozenset({True, "a"})) == frozenset({1})
    assert set_minus(frozenset({"a", "b"}), frozenset({"a"})) == frozenset({"b"})


def test_true_beside_1_in_one_live_set_is_unreadable_not_merged() -> None:
    tags = [{"key": "env", "valueType": "LIST", "allowedValues": [1, True]}]
    n = normalize_live(POLICY, {"name": "p", "tags": tags})
    assert n.unreadable == {
        "tags[env].allowedValues": "a set of values holds true or false beside 1 or 0"
    }


# --- normalizing odd live values: literal data -------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "field", "why"),
    [
        (
            {"tags": [{"key": "x", "valueType": "LIST", "allowedValues": [[1]]}]},
            "tags[x].allowedValues",
            "a set of values holds a list",
        ),
        (
            {"filters": {"repos": {"include": [{"a": 1}]}}},
            "filters.repos.include",
            "a set of values holds an object",
        ),
        ({"tags": [{"key": "a"}, "b"]}, "tags[1]", "an entry without key"),
        ({"tags": [{"key": "a"}, {"key": "a"}]}, "tags[a]", "key 'a' is repeated"),
        ({"filters": _nested(MAX_DEPTH + 5)}, "filters", "nested more than 200 levels deep"),
    ],
)
def test_odd_live_values_are_named_never_raised(
    attributes: dict[str, Any], field: str, why: str
) -> None:
    n = normalize_live(POLICY, {"name": "p", **attributes})
    assert n.unreadable == {field: why}
    top = field.split(".")[0].split("[")[0]
    assert isinstance(n.values[top], Unreadable)
    assert json.dumps(plain(n.values))  # as data: still JSON
    assert state_fingerprint(n.values) == state_fingerprint(
        normalize_live(POLICY, {"name": "p", **attributes}).values
    )


def test_a_secret_that_is_not_a_string_is_unreadable_and_never_shown() -> None:
    url = "https://hooks.example.com/T0/secret-path"
    n = normalize_live(GUARDRAIL, {"name": "g", "webhookUrl": {"url": url}})
    assert n.unreadable == {"webhookUrl": "a secret that is not a string"}
    assert url not in json.dumps(plain(n.values))


def test_mixed_sets_sort_and_depth_is_checked_without_recursion() -> None:
    assert sorted_values(frozenset({"b", 2, "a", True, 1.5})) == ["a", "b", True, 1.5, 2]
    assert not nested_deeper_than(_nested(MAX_DEPTH), MAX_DEPTH)
    assert nested_deeper_than(_nested(MAX_DEPTH + 1), MAX_DEPTH)
    assert nested_deeper_than(_nested(20_000), MAX_DEPTH)  # no RecursionError
    # a long list of scalars is passed over in one step; one deep member still counts
    values: list[Any] = [f"APP-{i:05d}" for i in range(1000)] + [1, 2.5, True, None]
    assert not nested_deeper_than(values, 1)
    assert nested_deeper_than(values, 0)
    assert nested_deeper_than({"values": [*values, _nested(MAX_DEPTH)]}, MAX_DEPTH)
    assert not nested_deeper_than({"values": [*values, _nested(MAX_DEPTH - 2)]}, MAX_DEPTH)


def _doc(name: str, **attributes: Any) -> Resource:
    attrs = {"name": name, "tags": [{"key": "env"}], **attributes}
    return Resource("TaggingPolicy", name, attrs, Location(Path("p.yaml"), 1, 1))


ODD_TAGS = [{"key": "x", "valueType": "LIST", "allowedValues": [[1]]}]


def test_an_odd_object_is_set_aside_alone_and_never_pruned() -> None:
    good = LiveObject("id-good", {"name": "good", "tags": [{"key": "old"}]})
    odd = LiveObject("id-odd", {"name": "odd", "tags": ODD_TAGS})
    other = LiveObject("id-other", {"name": "other", "tags": [{"key": "env"}]})
    found = diff_kind(
        POLICY,
        [_doc("good")],
        [good, odd, other],
        selected=lambda ref: True,
        prune=True,
        env={},
    )
    actions = {(c.action, c.ref.name) for c in found.changes}
    assert actions == {("update", "good"), ("delete", "other")}  # odd: not deleted
    assert [(u.ref.id, u.hint) for u in found.unmanaged] == [
        ("id-odd", "cannot be read; not deleted by prune")
    ]
    assert [w for w in found.warnings if "cannot be read" in w] == [
        "TaggingPolicy/odd (id id-odd): cannot be read (tags[x].allowedValues: a set of values "
        "holds a list); not deleted by prune"
    ]
    assert not found.errors


def test_a_managed_odd_object_gets_no_update_but_absent_true_deletes_it() -> None:
    odd = LiveObject("id-odd", {"name": "odd", "tags": ODD_TAGS})
    kept = diff_kind(POLICY, [_doc("odd")], [odd], selected=lambda ref: True, prune=False, env={})
    assert kept.changes == []
    assert kept.warnings == [
        "TaggingPolicy/odd (id id-odd): cannot be read (tags[x].allowedValues: a set of values "
        "holds a list); no change is planned for it; correct or delete it in Infracost, then "
        "plan again"
    ]
    absent = Resource("TaggingPolicy", "odd", {}, Location(Path("p.yaml")), absent=True)
    gone = diff_kind(POLICY, [absent], [odd], selected=lambda ref: True, prune=False, env={})
    assert [(c.action, c.ref.id) for c in gone.changes] == [("delete", "id-odd")]
    assert json.dumps(gone.changes[0].live_values)


# --- the commands, against a sandbox holding odd objects ---------------------------------------


def _write_dir(root: Path) -> Path:
    d = root / "desired"
    d.mkdir()
    (d / "reconciler.yaml").write_text("prune: true\npruneLimit: 10\n")
    (d / "p.yaml").write_text(
        "kind: TaggingPolicy\nname: good\ntags:\n  - key: env\n---\n"
        "kind: TaggingPolicy\nname: new one\ntags:\n  - key: team\n"
    )
    return d


@pytest.fixture(scope="module")
def odd_org(sandbox: SandboxServer) -> Iterator[SandboxOrg]:
    """An org with one good policy, one to prune, and three odd objects planted in the store."""
    org = sandbox.new_org("odd")
    org.policy("good", tags=[{"key": "old"}])
    org.policy("to prune")
    store = sandbox.store
    store.create_object(org.org, "tagging-policies", {"name": "odd list", "tags": ODD_TAGS})
    store.create_object(
        org.org,
        "guardrails",
        {"name": "odd repos", "scope": "PULL_REQUEST", "filters": {"repos": {"include": [{}]}}},
    )
    store.create_object(
        org.org, "tagging-policies", {"name": "bad \udc80 name", "tags": [{"key": "env"}]}
    )
    yield org
    org.session.close()


def _ids(org: SandboxOrg) -> dict[str, str]:
    out = {}
    for collection in ("tagging-policies", "guardrails"):
        for item in org.request("GET", collection).json()["data"]:
            out[item["attributes"]["name"]] = item["id"]
    return out


def _utf8(text: str) -> str:
    text.encode("utf-8")  # what a real stdout does: a lone surrogate raises here
    return text


def test_plan_sets_odd_objects_aside_and_plans_the_rest(
    odd_org: SandboxOrg, tmp_path: Path
) -> None:
    d = _write_dir(tmp_path)
    flags, env = against(odd_org)
    code, out, err = run("plan", str(d), *flags, cwd=tmp_path, env=env)
    assert code == 0, err
    _utf8(out)
    ids = _ids(odd_org)
    assert f"TaggingPolicy/odd list (id {ids['odd list']}): cannot be read" in out
    assert "tags[x].allowedValues: a set of values holds a list" in out
    assert f"Guardrail/odd repos (id {ids['odd repos']}): cannot be read" in out
    assert "filters.repos.include: a set of values holds an object" in out
    assert '+ create TaggingPolicy "new one"' in out
    assert '~ update TaggingPolicy "good"' in out
    assert '- delete TaggingPolicy "to prune"' in out
    assert '- delete TaggingPolicy "bad \\udc80 name"' in out  # readable, undeclared: pruned
    assert 'odd list" (id' in out and "cannot be read; not deleted by prune" in out
    assert "Plan: 1 to add, 1 to change, 2 to destroy." in out


def test_plan_json_snapshot_and_plan_live_agree(odd_org: SandboxOrg, tmp_path: Path) -> None:
    d = _write_dir(tmp_path)
    flags, env = against(odd_org)
    code, out, err = run("plan", str(d), *flags, "--format", "json", cwd=tmp_path, env=env)
    assert code == 0, err
    from_api = json.loads(_utf8(out))
    names = {c["name"] for c in from_api["changes"]}
    assert "bad \udc80 name" in names  # the JSON escape parses back to the same name
    assert {u["name"] for u in from_api["unmanaged"]} == {"odd list", "odd repos"}

    code, out, err = run("snapshot", str(d), "-o", "live.json", *flags, cwd=tmp_path, env=env)
    assert code == 0, err
    saved = (tmp_path / "live.json").read_bytes().decode("utf-8")  # valid UTF-8
    assert "\\udc80" in saved

    code, out, err = run(
        "plan", str(d), "--org", odd_org.org, "--live", "live.json", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    from_snapshot = json.loads(_utf8(out))
    for key in ("changes", "unmanaged", "warnings", "errors"):  # live order: API's or by id
        assert sorted(map(repr, from_snapshot[key])) == sorted(map(repr, from_api[key])), key
    assert from_snapshot["summary"] == from_api["summary"]

    code, out, err = run("plan", str(d), "--org", odd_org.org, "--live", "live.json", cwd=tmp_path)
    assert code == 0, err
    assert '"bad \\udc80 name"' in _utf8(out)


def test_a_snapshot_nested_too_deep_is_a_located_error(tmp_path: Path) -> None:
    d = _write_dir(tmp_path)
    body = {
        "format": "reconciler-snapshot",
        "formatVersion": 1,
        "org": "acme",
        "objects": {"TaggingPolicy": [{"id": "1", "attributes": {"name": "n"}}]},
    }
    text = json.dumps(body).replace('"n"}', '"n", "tags": ' + "[" * 250 + "]" * 250 + "}")
    (tmp_path / "deep.json").write_text(text)
    code, out, err = run("plan", str(d), "--org", "acme", "--live", "deep.json", cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err.endswith("/deep.json: malformed snapshot (nested more than 200 levels)\n"), err
    assert err.count("\n") == 1
    (tmp_path / "deeper.json").write_text(text.replace("[" * 250, "[" * 200_000, 1))
    code, out, err = run("plan", str(d), "--org", "acme", "--live", "deeper.json", cwd=tmp_path)
    assert code == 1 and err.count("\n") == 1 and "deeper.json: malformed snapshot" in err


# --- an answer nested too deep -----------------------------------------------------------------


@contextmanager
def answering(body: bytes) -> Iterator[str]:
    """A server on 127.0.0.1 that answers every GET with ``body`` as JSON; yields its /v1."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.api+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "nested more than 200 levels"),
        (b'{"data": [' + b"[" * 300 + b"]" * 300 + b"]}", "nested more than 200 levels"),
        (b'{"data": [{"id": "1", "attributes": {"x": NaN}}]}', "NaN is not a JSON value"),
    ],
    ids=["200000-deep", "300-deep", "nan"],
)
def test_an_answer_nested_too_deep_is_one_malformed_answer_line(
    body: bytes, why: str, tmp_path: Path
) -> None:
    d = _write_dir(tmp_path)
    with answering(body) as api:
        env = {"INFRACOST_SERVICE_TOKEN": "ics_v1_" + "0" * 48}
        code, out, err = run("plan", str(d), "--api", api, "--org", "acme", cwd=tmp_path, env=env)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "malformed answer" in err and why in err, err
