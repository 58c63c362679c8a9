"""Engine and session factory: SQLite (WAL) by default, PostgreSQL for scale-out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

from arbridge.errors import ConfigError


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that every transaction can start
    # with BEGIN IMMEDIATE: a read-then-write transaction never fails half-way with "locked".
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a webhook acknowledged after commit survives a power cut, not only a crash.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; raises ConfigError when the URL cannot be used."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            [
                f"database_url: cannot parse {_safe(url)!r}: use sqlite:///PATH or postgresql+psycopg://..."
            ]
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConfigError([f"database_url: directory {parent} does not exist"])
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise ConfigError(
        [
            f"database_url: unsupported database {parsed.get_backend_name()!r}: "
            "use sqlite or postgresql"
        ]
    )


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable>"


def check_reachable(engine: Engine) -> None:
    """Connect once; a SQLite file that does not exist yet is fine (it is created on upgrade)."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database or ""
        if database in ("", ":memory:") or not Path(database).expanduser().exists():
            return
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        raise ConfigError(
            [
                f"database_url: cannot connect to {_safe(str(engine.url))}: "
                f"{str(exc.orig).strip().splitlines()[0] if exc.orig else 'unreachable'}"
            ]
        ) from exc


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine, *, rollback: bool = False) -> Iterator[Session]:
    """One unit of work: committed on success (unless ``rollback``), rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin() as outer:
        yield session
        if rollback:
            outer.rollback()
