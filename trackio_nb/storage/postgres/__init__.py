"""The tracking server's store on PostgreSQL (the [postgres] extra): schema, migrations, writes, reads.

Only this package speaks PostgreSQL's dialect. `open_store(url)` is what `trackio-nb serve
--db URL` uses; `migrate_database(url)` is `trackio-nb migrate --db URL`. Both turn the
driver's failures (no server, wrong credentials, a newer schema) into one-line
TrackioNbErrors that never show the password.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from ...errors import InvalidValue, MissingExtra, ServerError


def _require(feature: str) -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise MissingExtra("postgres", feature) from None


def safe_url(url: str) -> str:
    """`url` without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_url(url: str) -> str:
    if not url.startswith(("postgresql://", "postgres://")):
        raise InvalidValue(f"--db must be a postgresql:// URL, got {safe_url(url)!r}")
    return url


def open_store(url: str, name_run: Callable[[int], str], *, auto_migrate: bool = True):
    """A PgServerStore on `url` (migrated to the current schema unless `auto_migrate` is false)."""
    check_url(url)
    _require("serve --db (PostgreSQL)")
    import psycopg

    from .store import PgServerStore

    try:
        return PgServerStore(url, name_run, auto_migrate=auto_migrate)
    except psycopg.Error as exc:
        raise ServerError(f"cannot use the database {safe_url(url)}: {' '.join(str(exc).split())}") from None


def migrate_database(url: str) -> tuple[int, int]:
    """Bring the database at `url` to the current schema; returns (version before, version after)."""
    check_url(url)
    _require("migrate --db (PostgreSQL)")
    import psycopg

    from .schema import migrate

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            return migrate(conn)
    except psycopg.Error as exc:
        raise ServerError(f"cannot migrate the database {safe_url(url)}: {' '.join(str(exc).split())}") from None
