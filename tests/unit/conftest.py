import pytest

from apps.common.db import Database


@pytest.fixture
def sqlite_db(tmp_path) -> Database:
    """A real SQLite database file, as the services use by default."""
    db = Database(f"sqlite:///{tmp_path}/test.db")
    db.create_tables()
    return db
