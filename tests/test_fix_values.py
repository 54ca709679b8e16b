"""reconciler fix-values: a diff first, a rewrite only with --write, every other byte kept."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from reconciler.cli import main


def run(*args: str, cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["fix-values", *args], stdout=out, stderr=err, env={}, cwd=cwd)
    return code, out.getvalue(), err.getvalue()


BOM = b"\xef\xbb\xbf"
CSV = (
    BOM + b"sys_id,app_id,name\r\n"
    b"1,APP-00041,Payments\r\n"
    b'2,"app-00042","Billing, EU"\r\n'
    b"\r\n"
    b'3,APP_00043,"Ledger\r\nexport"\r\n'
    b"4,APP-00044 ,Treasury\r\n"
    b"5,APP\xe2\x80\x9300045,Payroll\r\n"
    b"6,APP-00045,Payroll EU"  # no final line break
)
FIXED = (
    BOM + b"sys_id,app_id,name\r\n"
    b"1,APP-00041,Payments\r\n"
    b'2,"APP-00042","Billing, EU"\r\n'
    b"\r\n"
    b'3,APP-00043,"Ledger\r\nexport"\r\n'
    b"4,APP-00044,Treasury\r\n"
    b"5,APP-00045,Payroll\r\n"
    b"6,APP-00045,Payroll EU"
)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "reconciler.yaml").write_text('hygiene:\n  app_id: {case: upper, separator: "-"}\n')
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "apps.csv").write_bytes(CSV)
    return tmp_path


def test_shows_the_diff_and_writes_nothing_without_write(work: Path) -> None:
    code, out, err = run("data/apps.csv", "--column", "app_id", cwd=work)
    assert (code, err) == (0, "")
    assert (work / "data" / "apps.csv").read_bytes() == CSV
    assert out.splitlines() == [
        "--- data/apps.csv",
        "+++ data/apps.csv (fixed)",
        "@@ -3 +3 @@",
        '-2,"app-00042","Billing, EU"',
        '+2,"APP-00042","Billing, EU"',
        "@@ -5 +5 @@",
        '-3,APP_00043,"Ledger',
        '+3,APP-00043,"Ledger',
        "@@ -7,2 +7,2 @@",
        "-4,APP-00044 ,Treasury",
        "-5,APP\\u201300045,Payroll",
        "+4,APP-00044,Treasury",
        "+5,APP-00045,Payroll",
        "1 rewritten value(s) now repeat another value: reconciler keeps the first and warns "
        "about the others when it reads the file.",
        "4 value(s) to rewrite in data/apps.csv (characters 1, style 2, variant 1); "
        "run again with --write.",
    ]


def test_write_changes_only_the_cells_and_keeps_the_mode(work: Path) -> None:
    path = work / "data" / "apps.csv"
    os.chmod(path, 0o640)
    code, out, _ = run("data/apps.csv", "--column", "app_id", "--write", cwd=work)
    assert code == 0
    assert (
        out.splitlines()[-1]
        == "Rewrote 4 value(s) in data/apps.csv (characters 1, style 2, variant 1)."
    )
    assert path.read_bytes() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["apps.csv"]  # no temporary file left
    code, out, _ = run("data/apps.csv", "--column", "app_id", cwd=work)
    assert (code, out) == (0, "Nothing to rewrite in data/apps.csv.\n")


def test_txt_files_and_an_explicit_key(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("hygiene:\n  team: {case: lower}\n")
    text = "payments-api\nPayments-Core\n\nledger  export\nbilling\u200b-worker\n"
    (tmp_path / "teams.txt").write_text(text, newline="")
    code, out, _ = run("teams.txt", "--key", "team", "--write", cwd=tmp_path)
    assert code == 0, out
    assert (tmp_path / "teams.txt").read_text() == (
        "payments-api\npayments-core\n\nledger export\nbilling-worker\n"
    )


def test_near_duplicates_are_rewritten_only_when_asked(tmp_path: Path) -> None:
    values = "payments-api\npayments-worker\npayments-ledger\npaymnets-gateway\npayments-gateway\n"
    (tmp_path / "v.txt").write_text(values)
    code, out, _ = run("v.txt", cwd=tmp_path)
    assert code == 0
    assert out.splitlines() == [
        "1 near-duplicate(s) left as they are (pass --near-duplicates to rewrite them too):",
        '  "paymnets-gateway" -> "payments-gateway"?',
        "Nothing to rewrite in v.txt.",
    ]
    code, out, _ = run("v.txt", "--near-duplicates", "--write", cwd=tmp_path)
    assert code == 0
    assert (tmp_path / "v.txt").read_text() == values.replace("paymnets", "payments")


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["missing.csv", "--column", "a"], None, "missing.csv: cannot read file: No such file"),
        (["v.json"], b"[]", "v.json: fix-values rewrites a .csv or a .txt file"),
        (
            ["v.csv"],
            b"a,b c\n1,2\n",
            "v.csv: a CSV file needs --column NAME, the column holding the values "
            "(columns: a, b c)",
        ),
        (["v.csv"], b"a;b\n1;2\n", 'v.csv:1: the header row "a;b" looks semicolon-separated'),
        (["v.txt", "--column", "a"], b"x\n", "v.txt: --column is only used with a .csv file"),
        (["v.csv", "--column", "b"], b"a\n1\n", 'v.csv: column "b" is not in the header'),
        (["v.txt"], b"ok\n\xff\n", "v.txt:2: file is not valid UTF-8 (byte 0xff)"),
        (["v.csv", "--column", "a"], b'a,b\n1,"x\n', "v.csv:2: CSV syntax error"),
        (["v.csv", "--column", "a"], b"a,b\n1\n", "v.csv:2: row has 1 field but the header"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, args: list[str], content: bytes | None, message: str
) -> None:
    if content is not None:
        (tmp_path / args[0]).write_bytes(content)
    code, out, err = run(*args, cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: {message}") and err.count("\n") == 1, err


def test_an_invalid_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("hygiene:\n  app_id: {case: title}\n")
    (tmp_path / "v.txt").write_text("x\n")
    code, _, err = run("v.txt", "--key", "app_id", cwd=tmp_path)
    assert code == 1 and "reconciler.yaml: invalid" in err


READER = """\
kind: TaggingPolicy
name: Apps
tags:
  - key: app_id
    valueType: LIST
    allowedValuesFrom: {file: ../data/cmdb.csv, column: u_number}
"""


def test_the_key_comes_from_the_policy_that_reads_the_file(tmp_path: Path) -> None:
    """The column is u_number, the tag key app_id: its house style applies without --key."""
    (tmp_path / "reconciler.yaml").write_text("hygiene:\n  app_id: {case: upper}\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "apps.yaml").write_text(READER)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cmdb.csv").write_text("u_number,name\nAPP-00041,Payments\napp-00042,x\n")
    code, out, _ = run("data/cmdb.csv", "--column", "u_number", "--write", cwd=tmp_path)
    assert code == 0, out
    assert (tmp_path / "data" / "cmdb.csv").read_text().splitlines()[2] == "APP-00042,x"
    # another column of the same file is not the tag's: no house style for it
    (tmp_path / "data" / "cmdb.csv").write_text("u_number,name\nAPP-00041,Payments\nAPP-1,x\n")
    code, out, _ = run("data/cmdb.csv", "--column", "name", cwd=tmp_path)
    assert (code, out) == (0, "Nothing to rewrite in data/cmdb.csv.\n")


def test_policies_of_different_keys_reading_the_file_need_key(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("hygiene:\n  app_id: {case: upper}\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "apps.yaml").write_text(READER)
    (tmp_path / "policies" / "other.yaml").write_text(
        READER.replace("name: Apps", "name: Other").replace("key: app_id", "key: application")
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cmdb.csv").write_text("u_number\nAPP-00041\n")
    code, out, err = run("data/cmdb.csv", "--column", "u_number", cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err == (
        'Error: data/cmdb.csv is read by tags of different keys (TaggingPolicy "Apps" '
        'tags[app_id], TaggingPolicy "Other" tags[application]): pass --key KEY\n'
    )


def test_without_column_the_column_the_policy_reads_is_used(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("hygiene:\n  app_id: {case: upper}\n")
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "apps.yaml").write_text(READER)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cmdb.csv").write_text("name,u_number\nPayments,APP-00041\nx,app-00042\n")
    code, out, err = run("data/cmdb.csv", "--write", cwd=tmp_path)
    assert code == 0, out + err
    assert err == (
        'Using --column u_number: TaggingPolicy "Apps" tags[app_id] reads that column of '
        "data/cmdb.csv\n"
    )
    assert out.endswith("\n+x,APP-00042\nRewrote 1 value(s) in data/cmdb.csv (style 1).\n")
    assert (tmp_path / "data" / "cmdb.csv").read_text().splitlines()[2] == "x,APP-00042"
    code, out, err = run("cmdb.csv", cwd=tmp_path / "data")  # found from anywhere below
    assert (code, out) == (0, "Nothing to rewrite in cmdb.csv.\n"), err

    # two policies reading two columns: no guess, the header is listed
    (tmp_path / "policies" / "names.yaml").write_text(
        READER.replace("name: Apps", "name: Names").replace("u_number", "name")
    )
    code, out, err = run("data/cmdb.csv", cwd=tmp_path)
    assert (code, out) == (1, "")
    assert err == (
        "Error: data/cmdb.csv: a CSV file needs --column NAME, the column holding the values "
        "(columns: name, u_number)\n"
    )


def test_shape_findings_are_rewritten_only_when_asked(tmp_path: Path) -> None:
    clean = [f"APP-{n:05d}" for n in range(100, 160)]
    values = [*clean[:30], "APP-O0042", *clean[30:], "APP-0043"]
    (tmp_path / "v.txt").write_text("".join(v + "\n" for v in values))
    code, out, _ = run("v.txt", cwd=tmp_path)
    assert code == 0
    assert out.splitlines() == [
        "2 value(s) one step from the shape of the others left as they are "
        "(pass --shapes to rewrite them too):",
        '  "APP-O0042" -> "APP-00042"? (the letter "O" where a digit belongs)',
        '  "APP-0043" -> "APP-00043"? (a digit too few)',
        "Nothing to rewrite in v.txt.",
    ]
    code, out, _ = run("v.txt", "--shapes", "--write", cwd=tmp_path)
    assert code == 0
    assert out.splitlines()[-1] == "Rewrote 2 value(s) in v.txt (shape 2)."
    fixed = [*clean[:30], "APP-00042", *clean[30:], "APP-00043"]
    assert (tmp_path / "v.txt").read_text() == "".join(v + "\n" for v in fixed)
