"""Fixtures for the API tests: one wired service per session on a fresh database, and clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.postgres.database import eventsourcing_env
from api.app import create_app
from api.bootstrap import Container, bootstrap
from api.settings import Settings
from application.access import GlobalRole
from application.ledger import Ledger


class SettableClock:
    """The service's clock: real time unless a test pins it (health depends on the day)."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or datetime.now(UTC)


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Small pools: the embedded server allows 100 connections for the whole session.
    return Settings(pool_size=4, pool_max_overflow=4)


@pytest.fixture(scope="session")
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture(scope="session")
def container(
    upgraded_database: str, settings: Settings, clock: SettableClock
) -> Iterator[Container]:
    database_url = upgraded_database
    built = bootstrap(settings, database_url, clock=clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="session")
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ledger(upgraded_database: str) -> Iterator[Ledger]:
    """A ledger of its own (small pool) for tests that drive the domain and views directly."""
    env = eventsourcing_env(upgraded_database, Settings(pool_size=2, pool_max_overflow=2))
    built = Ledger(env=env)
    try:
        yield built
    finally:
        built.close()


@dataclass
class User:
    """A principal with a token, talking to the API through the shared client."""

    name: str
    token: str
    client: TestClient

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = self.headers(kwargs.pop("headers", None))
        response: httpx.Response = self.client.request(method, path, headers=headers, **kwargs)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body or {}, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


class Users:
    """Makes principals with unique names, so tests never share one by accident."""

    def __init__(self, container: Container, client: TestClient) -> None:
        self.container = container
        self.client = client

    def __call__(self, prefix: str = "user", role: GlobalRole = GlobalRole.MEMBER) -> User:
        name = f"{prefix}-{uuid4().hex[:8]}"
        self.container.principals.add(name, role)
        return User(name, self.container.principals.create_token(name), self.client)


@pytest.fixture
def users(container: Container, client: TestClient) -> Users:
    return Users(container, client)
