"""The postgres image, with the contract the chart's templates/postgres.yaml uses: the password
from POSTGRES_PASSWORD (scram-sha-256), PGDATA a subdirectory of the data volume, the scripts
of /docker-entrypoint-initdb.d run once at the first start, uid 999, pg_isready on PATH."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.images.podman import Container, image_ref, podman, running, wait_for

IMAGE = image_ref("postgres")
PASSWORD = "image-check-0c8f"  # a throwaway password for a throwaway container
ENV = {
    "POSTGRES_PASSWORD": PASSWORD,
    "POSTGRES_INITDB_ARGS": "--auth=scram-sha-256",
    "PGDATA": "/var/lib/postgresql/data/pgdata",
}
# What the chart's ConfigMap holds (one database per service), and a row to count the runs.
INIT_SQL = """\
CREATE DATABASE "orders";
CREATE DATABASE "dapr_state";
CREATE TABLE init_runs (at timestamptz DEFAULT now());
INSERT INTO init_runs DEFAULT VALUES;
"""


@pytest.fixture
def init_dir(tmp_path: Path) -> Path:
    (tmp_path / "01-databases.sql").write_text(INIT_SQL)
    tmp_path.chmod(0o755)
    (tmp_path / "01-databases.sql").chmod(0o644)
    return tmp_path


def url(db: Container, database: str, password: str = PASSWORD) -> str:
    return f"postgresql://postgres:{password}@127.0.0.1:{db.ports[5432]}/{database}"


def is_ready(db: Container) -> bool:
    return db.exec("pg_isready", "-U", "postgres", "-h", "127.0.0.1", "-q").returncode == 0


def init_runs(db: Container) -> int:
    with psycopg.connect(url(db, "postgres"), connect_timeout=10) as conn:
        return conn.execute("SELECT count(*) FROM init_runs").fetchone()[0]


def test_postgres_initialises_once_and_takes_password_connections(init_dir: Path) -> None:
    volumes = {init_dir: "/docker-entrypoint-initdb.d"}
    with running(IMAGE, env=ENV, ports=[5432], volumes=volumes, hostname="postgres-0") as db:
        wait_for("pg_isready", lambda: is_ready(db), 90, db)
        with psycopg.connect(url(db, "orders"), connect_timeout=10) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
            databases = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert {"orders", "dapr_state"} <= databases
        assert init_runs(db) == 1
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(url(db, "postgres", "wrong"), connect_timeout=10)
        assert db.exec("id", "-u").stdout.strip() == "999"
        assert db.exec("psql", "--version").stdout.startswith("psql (PostgreSQL) ")

        db.restart()
        wait_for("pg_isready after restart", lambda: is_ready(db), 90, db)
        assert init_runs(db) == 1  # the scripts ran at the first start only


def test_postgres_refuses_a_first_start_without_password() -> None:
    with running(IMAGE, env={"PGDATA": ENV["PGDATA"]}, hostname="postgres-0") as db:
        wait_for("the container to stop", lambda: not db.running(), 60, db, must_run=False)
        exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", db.id).strip()
        assert exit_code != "0"
        assert "POSTGRES_PASSWORD is empty" in db.logs()
