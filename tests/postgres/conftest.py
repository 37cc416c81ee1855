"""Fixtures for tests that run what the operator renders against a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.postgres import Server, server


@pytest.fixture(scope="session")
def pg() -> Iterator[Server]:
    """One throwaway PostgreSQL server for the session (tests use databases of their own)."""
    with server() as srv:
        yield srv


@pytest.fixture
def fresh_pg() -> Iterator[Server]:
    """A PostgreSQL server of the test's own (for tests that need an empty cluster)."""
    with server() as srv:
        yield srv
