"""The command line as a user meets it: ``python -m bot`` (and ``scripts/run``) in a terminal.

Every mistake a user can make here (a database path that cannot be used, no token, empty
settings) must end in one line on stderr naming what to fix and exit code 2, never a traceback;
and what a command prints must say each thing once.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.sandbox.fake_api import FakeBotAPI
from tests.factories import ROOT, run_cli, start_bot_process

ARTICLES = [
    {"title": "Harbour wall holds in the storm", "body": "The new wall held."},
    {"title": "Library opens on Sundays", "body": "From next week."},
    {"title": "Comet seen over Tessaly", "body": "Clear skies helped."},
]


def _write_jsonl(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _articles(folder: Path, bad: int = 0) -> Path:
    """Three good articles, then ``bad`` lines that are not JSON."""
    good = [json.dumps(article) for article in ARTICLES]
    return _write_jsonl(folder / "articles.jsonl", *good, *(f"oops {n}" for n in range(bad)))


# ---------------------------------------------------------------- database paths (defect 1)

# name → (build the path inside tmp_path, what the one line must say)
BAD_DATABASES = {
    "in /proc": (lambda tmp: Path("/proc/herald-test.db"), "cannot create a file there"),
    "a folder": (lambda tmp: tmp, "it is a folder"),
    "under a file": (
        lambda tmp: _write_jsonl(tmp / "notes.txt", "x") / "h.db",
        "notes.txt is a file, not a folder",
    ),
    "a missing folder": (
        lambda tmp: tmp / "typo" / "h.db",
        "does not exist (Herald does not create folders)",
    ),
    "not a database": (
        lambda tmp: _write_jsonl(tmp / "notes.db", "hello"),
        "it is not an SQLite database",
    ),
}


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("case", BAD_DATABASES)
def test_import_into_an_unusable_database_is_one_line(tmp_path: Path, case: str) -> None:
    make, reason = BAD_DATABASES[case]
    database = make(tmp_path)
    source = _articles(tmp_path)
    done = run_cli("import", str(source), cwd=tmp_path, database=str(database))
    line = _one_line(done.stderr)
    assert done.returncode == 2
    assert line.startswith(f"herald: cannot use HERALD_DATABASE={database}: ") and reason in line
    assert not (tmp_path / "typo").exists()  # no folder is created for a mistyped path


@pytest.mark.parametrize("case", BAD_DATABASES)
async def test_token_run_on_an_unusable_database_is_one_line(
    tmp_path: Path, api: FakeBotAPI, case: str
) -> None:
    make, reason = BAD_DATABASES[case]
    database = make(tmp_path)
    process = await start_bot_process(api, database, tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    line = _one_line(stderr.decode())
    assert process.returncode == 2
    assert line.startswith(f"herald: cannot use HERALD_DATABASE={database}: ") and reason in line
    assert not api.calls, "the database is checked before anything talks to Telegram"


@pytest.mark.parametrize("case", BAD_DATABASES)
def test_sandbox_on_an_unusable_database_is_one_line(tmp_path: Path, case: str) -> None:
    make, reason = BAD_DATABASES[case]
    database = make(tmp_path)
    done = run_cli("sandbox", "--database", str(database), cwd=tmp_path)
    line = _one_line(done.stderr)
    assert done.returncode == 2 and done.stdout == ""
    if database.exists():
        assert line.startswith(f"herald: cannot use --database {database}: ") and reason in line
    else:  # the sandbox only opens an existing database
        assert line.startswith(f"herald: no such database: {database} ")
    assert not list(tmp_path.rglob("herald-sandbox.log"))


# ------------------------------------------------------------------------ no token (defect 4)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_run_without_a_token_says_so_in_one_line(tmp_path: Path, token: str | None) -> None:
    settings = {} if token is None else {"bot_token": token}
    done = run_cli("run", cwd=tmp_path, **settings)
    line = _one_line(done.stderr)
    assert done.returncode == 2
    assert line.startswith("herald: running on Telegram needs a bot token: set HERALD_BOT_TOKEN")
    assert "sandbox" in line and ".env" in line
    assert not (tmp_path / "herald.db").exists()


def test_help_says_where_settings_come_from_and_what_the_default_is(tmp_path: Path) -> None:
    main = run_cli("--help", cwd=tmp_path)
    assert main.returncode == 0
    text = " ".join(main.stdout.split())
    assert (
        "Without a command: run on Telegram when HERALD_BOT_TOKEN is set, otherwise open the "
        "offline sandbox" in text
    )
    assert "(the default)" not in text
    for words in ("HERALD_* environment variables", ".env file in the working directory",
                  "an empty value means the default", "its folder must exist"):
        assert words in text, words
    for command in ("run", "sandbox", "import"):
        sub = run_cli(command, "--help", cwd=tmp_path)
        assert sub.returncode == 0 and ".env" in sub.stdout, command
    importer = " ".join(run_cli("import", "--help", cwd=tmp_path).stdout.split())
    assert "FILE JSON Lines: one article a line, a JSON object with at least a title" in importer


# ------------------------------------------------------------------- empty settings (defect 5)


def test_every_setting_left_empty_means_its_default(tmp_path: Path) -> None:
    source = _articles(tmp_path)
    empty = {name: "" for name in Settings.model_fields}
    done = run_cli("import", source.name, cwd=tmp_path, **empty)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Imported articles.jsonl into herald.db: 3 added")
    assert (tmp_path / "herald.db").is_file()  # HERALD_DATABASE= is the default file


# ------------------------------------------------------------------- import output (defect 6)


def test_import_says_each_problem_once_and_no_log_noise(tmp_path: Path) -> None:
    source = _articles(tmp_path, bad=2)
    settings = {"database": str(tmp_path / "new.db"), "log_level": "INFO"}
    first = run_cli("import", str(source), cwd=tmp_path, **settings)
    assert first.returncode == 0
    assert first.stderr == ""  # no migration lines, no warning per bad line
    assert first.stdout.splitlines() == [
        f"Imported articles.jsonl into {tmp_path / 'new.db'}: 3 added, 0 skipped as duplicates, "
        + first.stdout.split("skipped as duplicates, ")[1].splitlines()[0],
        "  rejected line 4: not valid JSON (Expecting value)",
        "  rejected line 5: not valid JSON (Expecting value)",
    ]
    assert re.search(r"2 rejected \(5 lines read in \d+\.\d s, [\d,]+ articles/s\)$",
                     first.stdout.splitlines()[0])

    again = run_cli("import", str(source), cwd=tmp_path, **settings)
    summary = again.stdout.splitlines()[0]
    assert "0 added, 3 skipped as duplicates, 2 rejected" in summary
    assert "articles/s" not in summary and again.stderr == ""


def test_import_lists_the_first_problems_and_counts_the_rest(tmp_path: Path) -> None:
    source = _articles(tmp_path, bad=25)
    done = run_cli("import", str(source), cwd=tmp_path, database=str(tmp_path / "h.db"))
    listed = [line for line in done.stdout.splitlines() if line.startswith("  rejected line")]
    assert len(listed) == 20 and done.stderr == ""
    assert done.stdout.splitlines()[-1] == (
        "  … and 5 more (HERALD_LOG_LEVEL=DEBUG logs every one)"
    )


def test_import_of_a_folder_is_one_line(tmp_path: Path) -> None:
    done = run_cli("import", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2 and _one_line(done.stderr) == f"herald: no such file: {tmp_path}"


# --------------------------------------------------------- scripts/run and its caller (defect 3)


def _scripts_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The README's ``scripts/run`` from another folder, with no HERALD_* in the environment."""
    if Path(sys.prefix).resolve() != (Path(ROOT) / ".venv").resolve():
        pytest.skip("scripts/run uses the repository's .venv: run the tests with scripts/test")
    env = {name: value for name, value in os.environ.items() if not name.startswith("HERALD_")}
    return subprocess.run(
        [str(Path(ROOT) / "scripts" / "run"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scripts_run_uses_the_callers_folder_and_env_file(tmp_path: Path) -> None:
    _articles(tmp_path)
    (tmp_path / ".env").write_text("HERALD_DATABASE=news.db\nHERALD_PAGE_SIZE=\n")
    done = _scripts_run(tmp_path, "import", "articles.jsonl")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Imported articles.jsonl into news.db: 3 added")
    assert (tmp_path / "news.db").is_file()

    (tmp_path / ".env").unlink()
    done = _scripts_run(tmp_path, "import", "articles.jsonl")
    assert done.stdout.startswith("Imported articles.jsonl into herald.db: 3 added")
    assert (tmp_path / "herald.db").is_file()  # the default database is the caller's too


# ------------------------------------------------------- the same kind of mistake, elsewhere


def test_a_misspelt_setting_is_named_not_silently_ignored(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HERALD_PAGESIZE=3\n")
    done = run_cli("run", cwd=tmp_path, bot_tokn="123:abc")
    assert done.returncode == 2
    assert done.stderr.splitlines()[:2] == [
        "herald: unknown setting HERALD_BOT_TOKN is ignored (did you mean HERALD_BOT_TOKEN?)",
        "herald: unknown setting HERALD_PAGESIZE is ignored (did you mean HERALD_PAGE_SIZE?)",
    ]


def test_import_into_a_database_locked_by_another_program_is_one_line(tmp_path: Path) -> None:
    database, source = tmp_path / "h.db", _articles(tmp_path)
    first = run_cli("import", str(source), cwd=tmp_path, database=str(database))
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(database, isolation_level=None) as other:
        other.execute("BEGIN EXCLUSIVE")  # held past Herald's 15 s busy timeout
        done = run_cli("import", str(source), cwd=tmp_path, database=str(database))
        other.execute("ROLLBACK")
    assert done.returncode == 1 and _one_line(done.stderr) == (
        f"herald: import stopped: the database {database} failed (database is locked); "
        "the articles written so far stay"
    )


def test_an_unreadable_env_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"HERALD_PAGE_SIZE=3\n\xff\xfe\n")
    done = run_cli("import", "articles.jsonl", cwd=tmp_path)
    assert done.returncode == 2
    assert _one_line(done.stderr).startswith(
        "herald: Cannot read the settings file .env: 'utf-8' codec can't decode byte 0xff"
    )


def _count(database: Path) -> int:
    """Articles committed so far, read as another process would (0 before the table exists)."""
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        try:
            return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        except sqlite3.OperationalError:  # not migrated yet
            return 0


def test_ctrl_c_during_an_import_is_one_line_and_keeps_what_was_written(tmp_path: Path) -> None:
    lines = (json.dumps({"title": f"Story {n} of the long file", "body": f"Text {n}."})
             for n in range(60_000))
    source = _write_jsonl(tmp_path / "long.jsonl", *lines)
    database = tmp_path / "long.db"
    env = {name: value for name, value in os.environ.items() if not name.startswith("HERALD_")}
    env.update(PYTHONPATH=ROOT, HERALD_DATABASE=str(database))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "import", str(source)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(database) == 0 and process.poll() is None:  # the first batch is in
            assert time.monotonic() < deadline, "no batch committed within 60 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stdout == "" and stderr.splitlines() == [
        "herald: import interrupted: the articles written so far stay, and importing the same "
        "file again skips them"
    ]
    assert 0 < _count(database) < 60_000  # whole batches stay (re-importing skips them)
