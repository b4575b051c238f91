"""Login throttling per account and per client address: 429 with ``Retry-After``, counted in PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shared_model.db import session_scope
from shared_model.models import LoginFailure
from shared_model.settings import get_settings

from ..conftest import ADMIN_PASSWORD

ADMIN = "admin@localhost"
LOGIN = "/api/v1/auth/login"


@pytest.fixture()
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set REFINERY_* variables for one test (the settings cache is cleared before and after)."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def gateway(address: str) -> TestClient:
    """A client of a fresh gateway app whose requests come from ``address`` (as uvicorn reports the peer)."""
    from gateway.app import create_app

    return TestClient(create_app(), client=(address, 40000))


def attempt(client: TestClient, email: str, password: str) -> tuple[int, dict[str, str], dict[str, object]]:
    response = client.post(LOGIN, json={"email": email, "password": password})
    return response.status_code, dict(response.headers), response.json()


def add_user(client: TestClient, email: str, password: str) -> None:
    assert client.post(LOGIN, json={"email": ADMIN, "password": ADMIN_PASSWORD}).status_code == 200
    created = client.post("/api/v1/users", json={"email": email, "password": password, "display_name": "Ann"})
    assert created.status_code == 201, created.text
    client.post("/api/v1/auth/logout")


def failures(**where: str) -> int:
    with session_scope() as session:
        query = select(func.count()).select_from(LoginFailure)
        for column, value in where.items():
            query = query.where(getattr(LoginFailure, column) == value)
        return int(session.scalar(query) or 0)


def test_account_is_throttled_after_five_failures_but_others_are_not(clean_db: str) -> None:
    with gateway("10.0.0.1") as first, gateway("10.0.0.2") as other_address, gateway("10.0.0.3") as other_process:
        add_user(first, "ann@example.org", "ann-password-1")
        for _ in range(5):  # the default: 5 per account within 15 min
            status, _, body = attempt(first, "ann@example.org", "wrong")
            assert status == 401, body
        assert failures(account="ann@example.org") == 5  # in PostgreSQL: every gateway process counts the same

        # The sixth attempt is refused even with the right password, from this address or any other.
        for client in (first, other_address):
            status, headers, body = attempt(client, "Ann@Example.org ", "ann-password-1")
            assert status == 429, body
            assert headers["content-type"].startswith("application/problem+json")
            assert body["status"] == 429 and body["title"] == "Too many requests"
            assert "5 failed logins for this account within 15 min" in str(body["detail"])
            retry = int(headers["retry-after"])
            assert 0 < retry <= 900
            assert f"try again in {retry} s" in str(body["detail"])

        # Another app instance (no memory shared with the first) sees the same counts.
        assert attempt(other_process, "ann@example.org", "ann-password-1")[0] == 429
        # Refused attempts are not counted (the rows stay bounded).
        assert failures(account="ann@example.org") == 5

        # Other accounts log in as usual, from the same address too.
        status, _, body = attempt(first, ADMIN, ADMIN_PASSWORD)
        assert status == 200, body


def test_client_address_is_throttled_across_accounts(clean_db: str, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REFINERY_LOGIN_MAX_FAILURES_PER_ADDRESS", "4")
    with gateway("192.0.2.9") as guesser, gateway("192.0.2.10") as neighbour:
        for index in range(4):  # a different account each time: the account limit never applies
            assert attempt(guesser, f"nobody{index}@example.org", "guess")[0] == 401
        assert failures(address="192.0.2.9") == 4
        status, headers, body = attempt(guesser, ADMIN, ADMIN_PASSWORD)
        assert status == 429, body
        assert "4 failed logins from your address 192.0.2.9" in str(body["detail"])
        assert int(headers["retry-after"]) > 0
        # The same account from another address is fine: the throttle was the address's.
        assert attempt(neighbour, ADMIN, ADMIN_PASSWORD)[0] == 200


def test_throttle_ends_with_the_window_and_success_clears_the_account(clean_db: str, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("REFINERY_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")
    settings_env.setenv("REFINERY_LOGIN_FAILURE_WINDOW_S", "6")
    with gateway("198.51.100.4") as client:
        assert attempt(client, ADMIN, "wrong")[0] == 401
        assert attempt(client, ADMIN, "wrong")[0] == 401
        status, headers, _ = attempt(client, ADMIN, ADMIN_PASSWORD)
        assert status == 429
        retry = int(headers["retry-after"])
        assert 1 <= retry <= 6
        time.sleep(retry + 0.2)
        assert attempt(client, ADMIN, ADMIN_PASSWORD)[0] == 200  # the failures left the window
        # A success forgets the account's failures: one more failure is not yet a throttle.
        assert attempt(client, ADMIN, "wrong")[0] == 401
        assert failures(account=ADMIN) == 1
        assert attempt(client, ADMIN, ADMIN_PASSWORD)[0] == 200
        assert failures(account=ADMIN) == 0


def test_parallel_guesses_cannot_pass_the_account_limit(clean_db: str) -> None:
    """Ten wrong passwords at once for one account (from different addresses): exactly five are checked."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [gateway(f"203.0.113.{index}") for index in range(10)]
    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(lambda client: attempt(client, ADMIN, "wrong")[0], clients))
    assert statuses == [401] * 5 + [429] * 5
    assert failures(account=ADMIN) == 5
