"""Issue 13, item 6: the smaller defects of the hostile trial, one test (or a few) each.

- an integer of more than 4,300 digits is refused where it stands (it crashed the loader);
- a FIFO named ``*.yaml`` (or a data file that is one) is refused, never opened for reading;
- a YAML file symlinked from outside DIR is refused like a data file would be;
- ``plan -o`` digests the files the plan read, in chunks, and no other file of DIR;
- ``github download`` never writes through a symbolic link already under its directory;
- export round trip: an object named ``reconciler`` no longer becomes a nested config;
- the schemas mirror the API's string limits (a 10,001-character ``message`` is refused);
- hygiene: one huge variant group is checked in linear time and makes one finding that counts
  the rest;
- the sandbox's behaviour route answers 400, not 500, to quirks that are not names.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import export
from reconciler.desired import prepare
from reconciler.documents import (
    MAX_INT_DIGITS,
    Ambiguous,
    HugeNumber,
    LoadError,
    iter_documents,
    open_regular,
    resolve_plain,
)
from reconciler.errors import InputError
from reconciler.github import artifacts
from reconciler.hygiene import report as hygiene_report
from reconciler.hygiene import variants as hygiene
from reconciler.model import LiveObject, Location
from reconciler.planfile import desired_digest
from reconciler.sandbox.jsonapi import MAX_STRING
from tests.helpers.cli import against, run
from tests.helpers.examples import write
from tests.helpers.sandbox import SandboxOrg

F = Path("f.yaml")
ROOT = Path(__file__).resolve().parent.parent


# --- integers of more than 4,300 digits -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("a: " + "1" * (MAX_INT_DIGITS + 1), 4),  # YAML 1.2 and 1.1 decimal
        ("a: -" + "7" * 5000, 4),
        ("a:\n  - x\n  - " + "9" * 10_000, 5),  # in a list, on its own line
        ("a: 0x" + "f" * 4000, 4),  # hexadecimal: converts, but could never be printed
        ("a: 1_" + "0" * 4400, 4),  # YAML 1.1 only (underscores)
        ("a: !!int " + "2" * 4301, 4),  # an explicit tag
    ],
)
def test_an_integer_of_more_than_4300_digits_is_refused_where_it_stands(
    text: str, column: int
) -> None:
    with pytest.raises(LoadError) as caught:
        list(iter_documents(text, F))
    error = caught.value
    assert (error.line, error.column) == (text.count("\n") + 1, column)
    assert error.message.startswith("an integer of more than 4,300 digits (")
    assert error.message.endswith("no attribute takes one: if it is text, quote it")
    assert len(error.message) < 200  # never the number itself


def test_integers_up_to_the_limit_and_long_text_still_load() -> None:
    text = f"a: {'1' * MAX_INT_DIGITS}\nb: '{'1' * 5000}'\n? {'3' * 5000}\n: x\n"
    (doc,) = iter_documents(text, F)
    assert doc.data["a"] == int("1" * MAX_INT_DIGITS)
    assert doc.data["b"] == "1" * 5000  # quoted: text
    assert doc.data["3" * 5000] == "x"  # keys keep their text


def test_resolve_plain_never_raises_on_long_numbers() -> None:
    # export asks it whether a live string must be quoted
    assert resolve_plain("1" * 5000) == HugeNumber("1" * 5000)
    assert resolve_plain("0b" + "1" * 20_000) == HugeNumber("0b" + "1" * 20_000)
    # a YAML 1.1 sexagesimal that overflows a float: read differently, never a crash
    text = "9" * 400 + ":00"
    assert isinstance(resolve_plain(text), Ambiguous)


def test_export_quotes_a_live_string_of_5000_digits() -> None:
    digits = "1" * 5000
    live = {"Guardrail": [LiveObject("g-1", {"name": "G", "scope": "PROJECT", "message": digits})]}
    files = export.build("acme", None, live, ["Guardrail"]).files
    (doc,) = iter_documents(files["guardrails/g.yaml"], F)
    assert doc.data["message"] == digits


# --- only regular files are read --------------------------------------------------------------


@contextmanager
def fifo_with_a_writer(path: Path, text: str) -> Iterator[None]:
    """A FIFO at ``path`` whose writer waits for a reader: a reader that opened it would get
    ``text`` and return, so a regression fails the test instead of hanging it."""
    os.mkfifo(path)

    def writer() -> None:
        with open(path, "w") as fh:  # blocks until the FIFO is opened for reading
            fh.write(text)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # let the writer finish
        thread.join()
        os.close(fd)


GUARDRAIL = "kind: Guardrail\nname: {}\nscope: PROJECT\ntotalThreshold: 1\n"


def test_a_fifo_named_yaml_is_refused_not_read(tmp_path: Path) -> None:
    write(tmp_path, {"g.yaml": GUARDRAIL.format("G")})
    with fifo_with_a_writer(tmp_path / "p.yaml", GUARDRAIL.format("From the pipe")):
        code, out, err = run("validate", ".", cwd=tmp_path)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "p.yaml:1:1: is a FIFO (named pipe), not a regular file; only regular files are read",
        "Invalid: 1 error.",
    ]


def test_a_fifo_as_a_values_file_is_refused_at_its_reference(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "p.yaml": "kind: TaggingPolicy\nname: P\ntags:\n  - key: app\n    valueType: LIST\n"
            "    allowedValuesFrom: {file: apps.txt}\n"
        },
    )
    with fifo_with_a_writer(tmp_path / "apps.txt", "APP-1\n"):
        code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 1
    assert out.splitlines()[0] == (
        'p.yaml:6:31: TaggingPolicy "P": tags[app].allowedValuesFrom.file: '
        '"apps.txt" is a FIFO (named pipe), not a regular file'
    )


def test_open_regular_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = r"is a FIFO \(named pipe\), not a regular file"
    with fifo_with_a_writer(tmp_path / "pipe.csv", "x\n"), pytest.raises(LoadError, match=fifo):
        open_regular(tmp_path / "pipe.csv")
    with pytest.raises(LoadError, match="is a directory, not a regular file"):
        open_regular(tmp_path)
    with pytest.raises(LoadError, match="is a character device, not a regular file"):
        open_regular(Path("/dev/zero"))  # would never end


# --- YAML files are confined to DIR -----------------------------------------------------------


def test_a_yaml_symlink_inside_the_directory_is_still_read(tmp_path: Path) -> None:
    write(
        tmp_path, {"real/g.yaml": GUARDRAIL.format("G"), "reconciler.yaml": "exclude: [real/*]\n"}
    )
    (tmp_path / "g.yaml").symlink_to("real/g.yaml")
    assert run("validate", ".", cwd=tmp_path) == (0, "Valid: 1 Guardrail in 1 file.\n", "")


def test_a_yaml_symlink_to_outside_the_directory_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path, {"outside.yaml": GUARDRAIL.format("Outside"), "d/g.yaml": GUARDRAIL.format("G")}
    )
    (tmp_path / "d" / "p.yaml").symlink_to("../outside.yaml")
    code, out, _ = run("validate", "d", cwd=tmp_path)
    assert code == 1
    assert out.splitlines() == [
        "d/p.yaml:1:1: resolves through a symbolic link outside the directory; "
        "only files inside it are read",
        "Invalid: 1 error.",
    ]


# --- plan -o digests what the plan read -------------------------------------------------------

POLICY = (
    "kind: TaggingPolicy\nname: Apps\ntags:\n  - key: app\n    valueType: LIST\n"
    "    allowedValuesFrom: {file: ../data/apps.csv, column: id}\n"
)


def desired_dir(root: Path) -> Path:
    write(
        root,
        {
            "reconciler.yaml": "prune: false\n",
            "policies/apps.yaml": POLICY,
            "data/apps.csv": "id\nAPP-1\nAPP-2\n",
            "data/unused.csv": "id\nX\n",
            "notes/big.bin": "x" * 1000,
        },
    )
    return root


def test_the_files_read_are_the_config_the_yaml_and_the_data_files(tmp_path: Path) -> None:
    directory = desired_dir(tmp_path / "d")
    prepared = prepare(directory, flag_org="acme", flag_api=None, env={})
    assert prepared.files_read == (
        directory / "reconciler.yaml",
        directory / "policies" / "apps.yaml",
        (directory / "data" / "apps.csv").resolve(),
    )


def test_desired_digest_covers_exactly_the_files_it_is_given(tmp_path: Path) -> None:
    directory = desired_dir(tmp_path / "d")
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    (directory / "data" / "apps.csv").write_bytes(big)
    files = [directory / "policies" / "apps.yaml", (directory / "data" / "apps.csv").resolve()]
    expected = hashlib.sha256()
    for name, path in (("data/apps.csv", files[1]), ("policies/apps.yaml", files[0])):
        expected.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    assert desired_digest(directory, files) == "sha256:" + expected.hexdigest()


def test_plan_o_digests_the_files_the_plan_read_and_no_other(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    directory = desired_dir(tmp_path / "d")
    flags, env = against(sandbox_org)

    def digest() -> str:
        code, out, err = run("plan", ".", *flags, "-o", "plan.json", cwd=directory, env=env)
        assert code == 0, out + err
        digest: str = json.loads((directory / "plan.json").read_text())["desiredDigest"]
        return digest

    first = digest()
    (directory / "notes" / "big.bin").write_text("y" * 5000)  # files the plan never reads
    (directory / "data" / "unused.csv").write_text("id\nY\n")
    with fifo_with_a_writer(directory / "notes" / "pipe", "never read"):
        assert digest() == first
    (directory / "data" / "apps.csv").write_text("id\nAPP-1\nAPP-3\n")  # a file it reads
    assert digest() != first


# --- github download: never through an existing link ------------------------------------------


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_extract_refuses_to_write_through_a_symlinked_file(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    into = tmp_path / "into"
    into.mkdir()
    (into / "snapshot.json").symlink_to(victim)
    with pytest.raises(InputError, match=r"snapshot\.json: is a symbolic link"):
        artifacts.extract(zipped({"snapshot.json": b"{}"}), into)
    assert victim.read_text() == "keep me"


def test_extract_refuses_to_write_through_a_symlinked_folder_and_writes_nothing(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    into = tmp_path / "into"
    into.mkdir()
    (into / "state").symlink_to(elsewhere, target_is_directory=True)
    data = zipped({"first.json": b"1", "state/record.json": b"2"})
    with pytest.raises(InputError, match="state: is a symbolic link"):
        artifacts.extract(data, into)
    assert list(elsewhere.iterdir()) == []
    assert not (into / "first.json").exists()  # every entry is checked before any is written


def test_extract_replaces_regular_files(tmp_path: Path) -> None:
    into = tmp_path / "into"
    (into / "state").mkdir(parents=True)
    (into / "state" / "record.json").write_text("old")
    written = artifacts.extract(zipped({"state/record.json": b"new", "a.json": b"a"}), into)
    assert sorted(p.relative_to(into).as_posix() for p in written) == [
        "a.json",
        "state/record.json",
    ]
    assert (into / "state" / "record.json").read_text() == "new"
    assert sorted(p.name for p in into.rglob("*")) == ["a.json", "record.json", "state"]


# --- export: an object named "reconciler" -----------------------------------------------------


def test_export_never_writes_a_file_named_like_the_config() -> None:
    live = {
        "TaggingPolicy": [LiveObject("p-1", {"name": "reconciler", "tags": [{"key": "x"}]})],
        "Guardrail": [
            LiveObject("g-1", {"name": "Reconciler", "scope": "PROJECT"}),
            LiveObject("g-2", {"name": "reconciler-2", "scope": "PROJECT"}),
        ],
    }
    files = export.build("acme", None, live, ["TaggingPolicy", "Guardrail"]).files
    assert sorted(files) == [
        "guardrails/reconciler-2-2.yaml",
        "guardrails/reconciler-2.yaml",
        "reconciler.yaml",
        "tagging-policies/reconciler-2.yaml",
    ]
    assert yaml.safe_load(files["guardrails/reconciler-2.yaml"])["name"] == "Reconciler"


def test_export_round_trip_of_objects_named_reconciler(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    sandbox_org.policy("reconciler", tags=[{"key": "x"}])
    sandbox_org.guardrail("reconciler", scope="PROJECT", totalThreshold=1)
    flags, env = against(sandbox_org)
    code, out, err = run("export", "-o", "adopted", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    code, out, err = run(
        "plan", "adopted", *flags, "--prune", "--detailed-exitcode", cwd=tmp_path, env=env
    )
    assert code == 0, out + err
    assert out.rstrip().endswith("No changes.")


def test_export_round_trip_of_a_policy_without_tags(
    tmp_path: Path, sandbox_org: SandboxOrg
) -> None:
    """The API accepts a policy with tags: []; export writes it, validate warns, plan is empty."""
    sandbox_org.policy("No rules", tags=[])
    flags, env = against(sandbox_org)
    code, out, err = run("export", "-o", "adopted", *flags, cwd=tmp_path, env=env)
    assert code == 0, out + err
    code, out, err = run(
        "plan", "adopted", *flags, "--prune", "--detailed-exitcode", cwd=tmp_path, env=env
    )
    assert code == 0, out + err
    assert "tags: no tag rules: this policy checks nothing" in err
    assert out.rstrip().endswith("No changes.")


# --- the schemas mirror the API's string limits -----------------------------------------------


def _strings_sent(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every string node of a schema that reaches the API (not the tool's own attributes)."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and not {"id", "allowedValuesFrom", "fromEnv"} & set(
            path
        ):
            yield path, schema
        for key, sub in schema.items():
            yield from _strings_sent(sub, (*path, key))
    elif isinstance(schema, list):
        for sub in schema:
            yield from _strings_sent(sub, path)


@pytest.mark.parametrize("name", ["tagging-policy.schema.json", "guardrail.schema.json"])
def test_every_string_sent_to_the_api_has_the_apis_limit(name: str) -> None:
    schema = json.loads((ROOT / "schemas" / name).read_text())
    limits = {"/".join(path): s.get("maxLength") for path, s in _strings_sent(schema)}
    assert limits.pop("properties/name") == 255  # the API's limit of names (MAX_NAME)
    assert len(limits) > 8
    assert set(limits.values()) == {MAX_STRING}, limits


@pytest.mark.parametrize(
    ("document", "field", "line"),
    [
        (GUARDRAIL.format("G") + "message: {}\n", "message", 5),
        ("kind: TaggingPolicy\nname: P\ntags:\n  - key: {}\n", "].key", 4),
        (
            "kind: TaggingPolicy\nname: P\ntags:\n  - key: app\n    valueType: REGEX\n"
            "    allowedRegex: '{}'\n",
            "tags[app].allowedRegex",
            6,
        ),
        (
            "kind: TaggingPolicy\nname: P\ntags:\n  - key: app\n    valueType: LIST\n"
            "    allowedValues: [a, b, {}]\n",
            "tags[app].allowedValues[2]",
            6,
        ),
    ],
)
def test_validate_refuses_a_string_the_api_would_refuse(
    tmp_path: Path, document: str, field: str, line: int
) -> None:
    long = "x" * MAX_STRING
    write(tmp_path, {"p.yaml": document.format(long)})
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert "must be at most" not in out  # the API's limit itself is fine
    write(tmp_path, {"p.yaml": document.format(long + "x")})
    code, out, _ = run("validate", ".", cwd=tmp_path)
    assert code == 1
    (first, *_) = out.splitlines()
    assert first.startswith(f"p.yaml:{line}:")
    assert first.endswith(f"{field}: must be at most 10000 characters long")


# --- hygiene: one huge variant group ----------------------------------------------------------


def case_variants(word: str, n: int) -> list[str]:
    """``n`` distinct spellings of ``word`` that differ only in case."""
    assert n <= 2 ** len(word)
    return ["".join(c.upper() if b >> k & 1 else c for k, c in enumerate(word)) for b in range(n)]


def test_sixty_thousand_variants_of_one_value_make_one_finding() -> None:
    values = case_variants("paymentsgatewayservice", 60_000)
    findings = hygiene.check(values)
    assert len(findings) == 1
    (f,) = findings
    assert (f.rule, f.index, f.other, f.suggestion) == (
        "variant",
        1,
        0,
        "paymentsgatewayservice",
    )
    assert len(f.more) == 59_998 and 0 not in f.more and 1 not in f.more
    assert hygiene.message(f, values, lambda i: f"line {i + 1}") == (
        '"Paymentsgatewayservice" (line 2) and "paymentsgatewayservice" (line 1) differ only in '
        'case; suggested: "paymentsgatewayservice"; and 59,998 more values are variants of them '
        "(not listed)"
    )


def test_the_report_says_how_many_variants_were_not_listed() -> None:
    values = case_variants("paymentsgatewayservice", 60_000)
    lst = hygiene_report.ValueList(
        "TaggingPolicy",
        "P",
        "app",
        values,
        "tags[app].allowedValues",
        lambda i: Location(F, i + 1, 1),
    )
    problems = hygiene_report.problems([lst], [], {})
    assert len(problems) == 1
    assert problems[0].message.endswith("and 59,998 more values are variants of them (not listed)")


@pytest.mark.parametrize(("n", "findings"), [(21, 20), (22, 1)])
def test_groups_up_to_the_limit_are_listed_value_by_value(n: int, findings: int) -> None:
    # the first spelling is the suggestion: n - 1 values to fix
    values = case_variants("billingservice", n)
    found = hygiene.check(values)
    assert len(found) == findings
    assert sum(1 + len(f.more) for f in found) == n - 1
    assert hygiene.GROUP_LISTED == 20


def test_declared_distinct_pairs_still_hold_in_a_large_group() -> None:
    values = case_variants("ledgersync", 40)
    # values[1] is declared distinct from every other value: it has no partner left
    distinct = hygiene.pairs([[values[1], v] for v in values if v != values[1]])
    found = hygiene.check(values, hygiene.Style(distinct=distinct))
    fixed = {i for f in found for i in (f.index, *f.more)}
    assert 1 not in fixed
    assert fixed == set(range(2, 40))
    assert all(f.other != 1 for f in found)


# --- the sandbox's behaviour route ------------------------------------------------------------


@pytest.mark.parametrize(
    ("quirks", "message"),
    [
        (["reorder", 5], "quirks: every quirk is a name (a string), got a number"),
        (["reorder", None], "quirks: every quirk is a name (a string), got null"),
        (5, "quirks: expected a string or a list of names, got a number"),
        ({"reorder": True}, "quirks: expected a string or a list of names, got an object"),
        (["sideways"], "unknown quirk 'sideways'"),
    ],
)
def test_the_behaviour_route_answers_400_to_quirks_that_are_not_names(
    sandbox_org: SandboxOrg, quirks: object, message: str
) -> None:
    url = f"{sandbox_org.url}/_sandbox/orgs/{sandbox_org.org}/behaviour"
    response = sandbox_org.session.put(url, json={"quirks": quirks}, timeout=10)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["detail"].startswith(message)
    good = sandbox_org.session.put(url, json={"quirks": ["reorder"]}, timeout=10)
    assert good.status_code == 200 and good.json()["quirks"] == ["reorder"]
