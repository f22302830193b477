"""PostgreSQL of the local stack (PROFILE=postgres), with password authentication: the
superuser's password is the one in RUN_DIR/secrets/postgres-password (deploy/stack/secrets.py),
given to a new data directory by initdb. A data directory of an older run (trust
authentication), or one whose password file was replaced, is migrated in place before the server
starts: the password is set in single-user mode and pg_hba.conf rewritten. Its data are kept.

The server comes from deploy/setup/postgres.sh and binds to 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.process import HOST, Service, run_tool
from deploy.stack.secrets import postgres_password

POSTGRES_PORT = 5433  # not 5432, so a system PostgreSQL can keep running
USER = "postgres"  # PostgreSQL refuses to run as root; the runner drops to this user
DATABASES = ["orders", "inventory", "payments", "notifications", "dapr_state"]

# Password (SCRAM) authentication for every connection, TCP and the unix socket alike.
PG_HBA = """# Written by deploy/stack/postgres.py at every start: password authentication only.
# TYPE  DATABASE     USER  ADDRESS       METHOD
local   all          all                 scram-sha-256
host    all          all   127.0.0.1/32  scram-sha-256
host    all          all   ::1/128       scram-sha-256
local   replication  all                 scram-sha-256
host    replication  all   127.0.0.1/32  scram-sha-256
host    replication  all   ::1/128       scram-sha-256
"""


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server installed (deploy/setup/postgres.sh installs one)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not found:
        raise RuntimeError("PostgreSQL server not found: run deploy/setup/postgres.sh")
    return found[-1].parent


def password_only(hba_text: str) -> bool:
    """True if every rule of a pg_hba.conf asks for a SCRAM password (no trust, peer, md5...)."""
    rules = [ln.split() for ln in hba_text.splitlines() if ln.strip() and not ln.startswith("#")]
    return bool(rules) and all(rule[-1] == "scram-sha-256" for rule in rules)


def digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def as_user(*argv: str) -> list[str]:
    return ["runuser", "-u", USER, "--", *argv]


@dataclass(frozen=True)
class PostgresDir:
    """The server's working directory under the run directory (also its unix socket
    directory), holding the data directory and what it was set up with."""

    work: Path
    bin_dir: Path

    @property
    def data(self) -> Path:
        return self.work / "data"

    @property
    def applied(self) -> Path:
        """sha256 of the password the data directory was given (never the password itself)."""
        return self.work / "password.sha256"

    @property
    def connect(self) -> list[str]:
        return ["-h", HOST, "-p", str(POSTGRES_PORT), "-U", USER]

    def prepare(self) -> None:
        """Before each start: the data directory exists and takes exactly this password."""
        self.work.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.work, USER, USER)
        self.work.chmod(0o700)
        if subprocess.run(as_user("test", "-w", str(self.work))).returncode != 0:
            raise RuntimeError(
                f"user {USER} cannot reach {self.work}: every parent directory "
                "must be searchable by others (chmod o+x)"
            )
        password = postgres_password()
        if not (self.data / "PG_VERSION").exists():
            self.initdb(password)
        elif self.set_up_for(password):
            return
        else:
            print(
                f"WARNING [postgres]: {self.data} was not set up for this password (an older "
                "run's trust authentication, or a new password file): setting the superuser's "
                "password and password-only authentication; the data are kept",
                flush=True,
            )
            self.set_password(password)
        hba = self.data / "pg_hba.conf"
        hba.write_text(PG_HBA)
        shutil.chown(hba, USER, USER)
        hba.chmod(0o600)
        self.applied.write_text(digest(password))

    def set_up_for(self, password: str) -> bool:
        hba = self.data / "pg_hba.conf"
        return (
            password_only(hba.read_text())
            and self.applied.is_file()
            and self.applied.read_text() == digest(password)
        )

    def initdb(self, password: str) -> None:
        """initdb into a side directory, renamed when complete, so a rerun never sees half of
        one."""
        partial = self.work / "data.partial"
        shutil.rmtree(partial, ignore_errors=True)
        pwfile = self.work / "initdb-password"  # the postgres user's only, removed right after
        pwfile.unlink(missing_ok=True)
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(password + "\n")
        shutil.chown(pwfile, USER, USER)
        options = "-U postgres --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8"
        try:
            initdb_argv = [str(self.bin_dir / "initdb"), "-D", str(partial), f"--pwfile={pwfile}"]
            run_tool("initdb", as_user(*initdb_argv, *options.split(), "--no-instructions"))
        finally:
            pwfile.unlink(missing_ok=True)
        partial.rename(self.data)

    def set_password(self, password: str) -> None:
        """Gives the superuser `password` in single-user mode (the server is not running).
        The statements go in on stdin, one a line: no argument list shows the password, and an
        error message quoting it is cut from what is reported."""
        if not password.replace("-", "").replace("_", "").isalnum():
            raise RuntimeError("the PostgreSQL password file holds unexpected characters")
        single = [str(self.bin_dir / "postgres"), "--single", "-D", str(self.data), "postgres"]
        statements = (
            "SET password_encryption = 'scram-sha-256'\n"
            f"ALTER ROLE postgres PASSWORD '{password}'\n"
        )
        try:
            run_tool("postgres --single (set the password)", as_user(*single), stdin=statements)
        except RuntimeError as err:
            raise RuntimeError(str(err).replace(password, "<password>")) from None

    def create_databases(self) -> None:
        """Once the server is ready: every database of DATABASES that is missing."""
        psql = [str(self.bin_dir / "psql"), *self.connect, "-d", "postgres", "-XqtA"]
        psql += ["-v", "ON_ERROR_STOP=1"]
        env = {"PGPASSWORD": postgres_password()}
        existing = run_tool("psql", [*psql, "-c", "SELECT datname FROM pg_database"], env).split()
        for db in DATABASES:
            if db not in existing:
                run_tool("psql", [*psql, "-c", f'CREATE DATABASE "{db}"'], env)

    def ready(self) -> bool:
        # pg_isready needs no password: a server that asks for one is accepting connections.
        argv = [str(self.bin_dir / "pg_isready"), "-q", *self.connect]
        return subprocess.run(argv).returncode == 0


def postgres_service(run_dir: Path) -> Service:
    """PostgreSQL on POSTGRES_PORT, its data under RUN_DIR/postgres."""
    pg = PostgresDir(run_dir / "postgres", postgres_bin_dir())
    return Service(
        name="postgres",
        # -h: TCP on 127.0.0.1 only; -k: unix socket in run_dir, not /var/run/postgresql.
        argv=[str(pg.bin_dir / "postgres"), "-D", str(pg.data), "-p", str(POSTGRES_PORT)]
        + ["-h", HOST, "-k", str(pg.work)],
        log=run_dir / "logs" / "postgres.log",
        cwd=pg.work,
        ready=pg.ready,
        ports=[POSTGRES_PORT],
        prepare=pg.prepare,
        after_ready=pg.create_databases,
        user=USER,
    )
