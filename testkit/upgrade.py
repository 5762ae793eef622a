"""An earlier release of this repository, run for real: its checkout, its database and its
processes, so a test can upgrade what it wrote with the current code (usertasks/tests/
test_upgrade.py).

The old release runs from a ``git archive`` of its commit with this checkout's interpreter and
packages (its requirements are the same), on the production settings, as it was deployed.
"""

import json
import subprocess
import sys
import tarfile
from contextlib import closing, contextmanager
from io import BytesIO
from pathlib import Path

import environ
from django.db import connection
from django.db.utils import ConnectionHandler

from testkit import processes

BASE_DIR = Path(__file__).resolve().parent.parent
SEED_SCRIPT = Path(__file__).with_name("old_release_seed.py")


def checkout(commit: str, dest: Path) -> Path:
    """The files of ``commit`` under ``dest`` (no worktree: git's own state stays untouched)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=BASE_DIR,
        capture_output=True,
        check=False,
    )
    if archive.returncode:
        raise RuntimeError(
            f"git archive {commit} failed (a shallow clone lacks the release?): "
            f"{archive.stderr.decode(errors='replace')}"
        )
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


class OldRelease:
    """``manage.py`` of the checkout at ``tree``, against ``database_url`` and ``media_root``."""

    def __init__(self, tree: Path, *, database_url: str, media_root: Path, **env):
        self.tree = tree
        self.env = processes.child_env(
            DJANGO_SETTINGS_MODULE="microblog.settings",
            DATABASE_URL=database_url,
            MEDIA_ROOT=media_root,
            **env,
        )

    def manage(self, *args, timeout=300, **env) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.tree,
            env={**self.env, **{key: str(value) for key, value in env.items()}},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(
                f"old release: manage.py {args[0]} failed:\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def seed(self, phase: str, **env) -> str:
        """A phase of testkit/old_release_seed.py, run with the old release's models."""
        source = SEED_SCRIPT.read_text()
        return self.manage("shell", "--no-imports", "-c", source, SEED_PHASE=phase, **env)

    def mail(self) -> list[str]:
        """The messages its file mail backend wrote (no SMTP relay configured)."""
        return [path.read_text() for path in sorted((self.tree / "var" / "mail").glob("*"))]


def last_json_line(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@contextmanager
def scratch_database(tmp_path: Path):
    """The URL of an empty database of the test database's vendor, dropped afterwards: a
    SQLite file, or a PostgreSQL database beside the test database."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgraded.sqlite3'}"
        return
    name = f"{connection.settings_dict['NAME']}_upgrade"[:63]
    server = processes.database_url().rsplit("/", 1)[0]
    with open_database(f"{server}/postgres") as admin:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{server}/{name}"
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def open_database(url: str):
    """A connection of its own to the database at ``url`` (not the test database), for raw
    reads; autocommit, so each read sees what other processes committed."""
    handler = ConnectionHandler({"default": environ.Env.db_url_config(url)})
    with closing(handler["default"]) as database:
        yield database


def rows(database, sql: str, params=()) -> list[tuple]:
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
