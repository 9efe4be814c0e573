"""`MILESTONES_READ_URLS` and `MILESTONES_READ_MAX_LAG_SECONDS` as an operator writes them."""

from __future__ import annotations

import pytest

from api.settings import Settings, SettingsError
from projections.replicas import parse_read_urls, replica_name

A = "postgresql://reader:secret@replica-a:5432/milestones"
B = "postgres://replica-b/milestones?connect_timeout=3"


def test_replicas_are_separated_by_commas_or_white_space_and_default_to_none() -> None:
    assert Settings.from_env({}).read_urls is None
    assert parse_read_urls(Settings.from_env({}).read_urls) == ()
    for written in (f"{A},{B}", f"{A} {B}", f" {A} ,\n {B} ", f"{A},,{B},"):
        read = Settings.from_env({"MILESTONES_READ_URLS": written}).read_urls
        assert parse_read_urls(read) == (A, B)


def test_a_replica_is_named_by_host_and_port_never_by_its_password() -> None:
    assert replica_name(A) == "replica-a:5432"
    assert replica_name(B) == "replica-b:5432"


def test_a_key_value_dsn_or_a_broken_uri_is_refused_at_start_without_echoing_a_password() -> None:
    with pytest.raises(SettingsError, match="postgresql://") as refused:
        Settings.from_env({"MILESTONES_READ_URLS": "host=replica password=secret"})
    assert "secret" not in str(refused.value)
    with pytest.raises(SettingsError, match="cannot read") as broken:
        Settings.from_env({"MILESTONES_READ_URLS": "postgresql://u:secret@replica/db?bogus=1"})
    assert "secret" not in str(broken.value)
    # A password in the query part (review finding: the host part after '@' was echoed).
    with pytest.raises(SettingsError, match="cannot read URI 2") as queried:
        Settings.from_env(
            {"MILESTONES_READ_URLS": "postgresql://r1/db postgresql://r2/db?password=secret&x=1"}
        )
    assert "secret" not in str(queried.value)


def test_the_lag_bound_defaults_to_five_seconds_and_must_be_positive() -> None:
    assert Settings.from_env({}).read_max_lag == 5.0
    env = {"MILESTONES_READ_MAX_LAG_SECONDS": "0.5"}
    assert Settings.from_env(env).read_max_lag == 0.5
    with pytest.raises(SettingsError, match="positive"):
        Settings.from_env({"MILESTONES_READ_MAX_LAG_SECONDS": "0"})
