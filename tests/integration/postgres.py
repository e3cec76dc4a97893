"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package, a cluster of its own.

:class:`PostgresServer` makes a new cluster (``initdb``) in a private temporary folder, starts
``postgres`` on a free 127.0.0.1 port (its unix socket in that folder, never the system's), and makes
databases on demand (:meth:`PostgresServer.database`), each owned by a role that is *not* a superuser,
with a password: the launcher service needs no more. PostgreSQL refuses to run as root, so under root
(the CI machine) it runs as Debian's ``postgres`` user. ``log_statement = ddl`` logs every schema change
with its database (``postgres.log``), which is how a test counts the times a schema was made.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import free_ports

__all__ = ["PG_BIN", "PostgresServer"]

#: Debian's PostgreSQL 15 binaries (``apt-get install postgresql``; ``make system-deps``).
PG_BIN = Path(os.environ.get("HUBAPPS_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: Seconds to wait for the server to accept connections, and to stop.
PG_START_TIMEOUT = 60.0
PG_STOP_TIMEOUT = 30.0
#: The role the launcher service connects as.
ROLE = "hubapps"
#: The start of a log entry (``log_line_prefix``); other lines continue the entry before.
_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder; :meth:`start`, :meth:`database`, :meth:`stop`."""

    def __init__(self) -> None:
        if not (PG_BIN / "postgres").exists():
            pytest.fail(f"{PG_BIN}/postgres is missing: run `make system-deps` (apt-get install postgresql)")
        # Not under pytest's folder: that is private to root, and the server may run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="hubapps-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        (self.port,) = free_ports(1)
        self.password = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.root.chmod(0o700)

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            argv, cwd=self.root, capture_output=True, text=True, timeout=60, check=False, **self._as
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` as the cluster's superuser over the private unix socket; its output (tuples only)."""
        return self._run(
            str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql,
        ).stdout  # fmt: skip

    def start(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
        )  # fmt: skip
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.root),
            # A test cluster: nothing needs to survive a crash, so no waiting for the disk.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "log_statement": "ddl",
            "log_line_prefix": "%m [%p] db=%d ",
        }
        argv = [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._as,
            )
        deadline = time.monotonic() + PG_START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{self.log_tail()}")
            ready = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False, timeout=10
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start within {PG_START_TIMEOUT:g} s:\n{self.log_tail()}")
            time.sleep(0.2)
        self.psql(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{self.password}'")

    def database(self, name: str, *, with_password: bool = True) -> str:
        """A new, empty database ``name`` owned by the service's role; its URL (psycopg 3), with the
        role's password, or without it (then libpq finds it in :meth:`passfile`)."""
        self.psql(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        if not with_password:
            return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{name}"
        return f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}/{name}"

    def passfile(self, folder: Path) -> Path:
        """A libpq password file (``PGPASSFILE``) in ``folder`` with the role's password, for the
        current user only (libpq ignores one others may read)."""
        path = folder / "pgpass"
        path.write_text(f"127.0.0.1:{self.port}:*:{ROLE}:{self.password}\n")
        path.chmod(0o600)
        return path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no postgres log)"

    def ddl(self, database: str) -> list[str]:
        """The schema changes PostgreSQL logged for ``database`` (``log_statement = ddl``), one string
        each (a statement's further lines joined to it)."""
        entries: list[str] = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if _LOG_LINE.match(line):
                entries.append(line)
            elif entries:
                entries[-1] += " " + line.strip()
        return [" ".join(e.split()) for e in entries if f" db={database} " in e and " statement: " in e]

    def stop(self) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
                try:
                    self.process.wait(PG_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
