"""A PostgreSQL for the tests of ``serve --db``: the database ``$LOCALRUN_TEST_PG`` names.

scripts/test.sh starts a cluster when none runs and sets the variable; without it (or without
psycopg) these tests skip, saying why. Each test gets a schema of its own in that database,
named in the URL (``options=-csearch_path=...``), so tests on several xdist workers never see
each other's tables.
"""

from __future__ import annotations

import os
import uuid

import pytest


def base_url() -> str:
    url = os.environ.get("LOCALRUN_TEST_PG")
    if not url:
        pytest.skip(
            "no PostgreSQL to test against: set LOCALRUN_TEST_PG=postgresql://USER:PASSWORD@HOST/DB "
            "(scripts/test.sh starts a cluster and sets it)"
        )
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"psycopg is not installed ({exc.name}): pip install -e '.[postgres]'")
    return url


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def fresh_url() -> tuple[str, str]:
    """A URL whose tables land in a new, empty schema; and the schema's name."""
    import psycopg

    url = base_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return with_schema(url, schema), schema


def drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(base_url(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def pg_url():
    url, schema = fresh_url()
    yield url
    drop(schema)
