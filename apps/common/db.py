"""One database per service: SQLite by default, PostgreSQL with PROFILE=postgres."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Insert,
    MetaData,
    Table,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine, Result, Row
from sqlalchemy.schema import AddConstraint
from sqlmodel import Session, SQLModel, create_engine

from apps.common.settings import Settings, get_settings

# Any fixed number: the key of the PostgreSQL advisory lock every instance of a service takes
# while it creates or upgrades its schema (locks are per database, so one key serves all).
SCHEMA_LOCK_KEY = 0x6F72646572  # "order"


def make_engine(url: str, reads_only: bool = False, settings: Settings | None = None) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_transactions(engine, "BEGIN" if reads_only else "BEGIN IMMEDIATE")
        return engine
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    pool = settings or get_settings()  # DB_POOL_SIZE, DB_MAX_OVERFLOW
    return create_engine(
        url, pool_size=pool.db_pool_size, max_overflow=pool.db_max_overflow, pool_pre_ping=True
    )


def _sqlite_transactions(engine: Engine, begin: str) -> None:
    # pysqlite opens "deferred" transactions: two of them that read and then write can fail with
    # SQLITE_BUSY instead of waiting. BEGIN IMMEDIATE takes the write lock up front, so
    # concurrent reservations queue (busy timeout) instead of failing or overselling. Reads
    # (Database.read) begin deferred: in WAL mode they see one snapshot and wait for no writer.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:  # pysqlite's connection
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)


class Database:
    """`session()` for the ORM; `write()` and `read()` hand out a Core connection in a
    transaction, for hot paths where the ORM's unit of work costs more than the query."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.engine = make_engine(url, settings=settings)
        self.reader = make_engine(url, reads_only=True) if url.startswith("sqlite") else self.engine

    def create_tables(self, then: Callable[[Connection], None] | None = None) -> None:
        """Creates the tables the models declare and upgrades older ones; `then` runs in the
        same transaction for a service's own schema steps."""
        with self.schema_transaction() as conn:
            SQLModel.metadata.create_all(conn)
            upgrade_postgres(conn, SQLModel.metadata)
            if then is not None:
                then(conn)

    @contextmanager
    def schema_transaction(self) -> Iterator[Connection]:
        """One transaction for schema changes. On PostgreSQL it first takes a transaction-level
        advisory lock, so instances starting together change the schema one after the other
        (each sees what the one before created, and create_all skips it) instead of racing on
        CREATE TABLE; PostgreSQL's DDL is transactional, so a failure leaves nothing half done.
        SQLite's BEGIN IMMEDIATE already serialises writers."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction, committed on leaving (rolled back on an exception)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only snapshot; on SQLite it waits for no writer."""
        with self.reader.connect() as conn:
            yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def is_reachable(self) -> bool:
        """The readiness check: True once a SELECT 1 went through (a failure raises)."""
        self.ping()
        return True


def insert_absent(conn: Connection, table: Table, row: dict[str, object]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: False when the key exists already. PostgreSQL first
    waits for a transaction inserting the same key; either way no error aborts the caller's
    transaction, which can go on to read the row that won."""
    return conn.execute(_insert_or_skip(conn.dialect.name, table), row).rowcount == 1


@cache
def _insert_or_skip(dialect: str, table: Table) -> Insert:
    module = postgresql if dialect == "postgresql" else sqlite
    # preserve_rowcount: else the INSERT's rowcount is -1 on psycopg (only UPDATE and DELETE
    # keep theirs by default).
    insert = module.insert(table).on_conflict_do_nothing()
    prepared: Insert = insert.execution_options(preserve_rowcount=True)
    return prepared


def upgrade_postgres(conn: Connection, metadata: MetaData) -> None:
    """Brings tables that an older version created in PostgreSQL up to the models (create_all
    never alters an existing table): integer columns the models now declare BIGINT are
    widened, and unique constraints the models no longer declare are replaced by the ones they
    do. Idempotent. SQLite needs none of it: its INTEGER is always 64-bit. Runs in the caller's
    transaction (Database.schema_transaction)."""
    if conn.dialect.name != "postgresql":
        return
    existing = set(inspect(conn).get_table_names())
    for table in metadata.sorted_tables:
        if table.name in existing:
            _widen_to_bigint(conn, table)
            _replace_unique_constraints(conn, table)


def _widen_to_bigint(conn: Connection, table: Table) -> None:
    present = {c["name"]: c["type"] for c in inspect(conn).get_columns(table.name)}
    for column in table.columns:
        current = present.get(column.name)
        narrower = current is not None and not isinstance(current, BigInteger)
        if isinstance(column.type, BigInteger) and narrower:
            conn.execute(
                text(f'ALTER TABLE "{table.name}" ALTER COLUMN "{column.name}" TYPE BIGINT')
            )


def _replace_unique_constraints(conn: Connection, table: Table) -> None:
    wanted = {
        frozenset(c.name for c in constraint.columns): constraint
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    wanted_indexes = {frozenset(c.name for c in i.columns) for i in table.indexes if i.unique}
    present = {
        frozenset(u["column_names"]): u["name"]
        for u in inspect(conn).get_unique_constraints(table.name)
    }
    for columns, name in present.items():
        if columns not in wanted and columns not in wanted_indexes:
            conn.execute(text(f'ALTER TABLE "{table.name}" DROP CONSTRAINT "{name}"'))
    for columns, constraint in wanted.items():
        if columns not in present:
            conn.execute(AddConstraint(constraint))


# A row of any shape (SQLAlchemy's Row is generic over its column types).
AnyRow = Row[*tuple[Any, ...]]


def rows_changed(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE matched (Session.execute types its result as a plain
    Result; for those statements it is a CursorResult)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def table_of(model: type[SQLModel]) -> Table:
    """The table a SQLModel class maps (for Core statements on hot paths)."""
    table = sa_inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} does not map a plain table")
    return table
