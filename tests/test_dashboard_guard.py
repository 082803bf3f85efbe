"""The dashboard refuses DNS-rebound hosts and cross-site posts, and serves everything else."""

import pytest

from central.dashboard.guard import host_name, refusal, trusted_host


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("[::1]:8080", "::1"),
        ("localhost", "localhost"),
        ("Evil.example", "evil.example"),
    ],
)
def test_host_name(host: str, name: str) -> None:
    assert host_name(host) == name


@pytest.mark.parametrize("host", ["127.10.0.2:8080", "localhost:8080", "[::1]:8080", "192.168.1.20:8080"])
def test_ip_addresses_and_localhost_are_trusted(host: str) -> None:
    assert trusted_host(host)


@pytest.mark.parametrize("host", ["attacker.example:8080", "127.0.0.1.nip.io:8080", "", "[::1:8080"])
def test_names_are_not_trusted(host: str) -> None:
    assert not trusted_host(host)


def test_reads_need_only_a_trusted_host() -> None:
    assert refusal("GET", "127.0.0.1:8080", "http", "https://elsewhere.example") is None
    reason = refusal("GET", "rebound.example:8080", "http", None)
    assert reason is not None and "rebound.example:8080" in reason


def test_posts_from_the_dashboard_or_without_origin_are_served() -> None:
    assert refusal("POST", "127.0.0.1:8080", "http", "http://127.0.0.1:8080") is None
    assert refusal("POST", "127.0.0.1:8080", "http", None) is None  # curl, scripts


@pytest.mark.parametrize(
    "origin", ["https://attacker.example", "null", "http://127.0.0.1:8081", "http://localhost:8080"]
)
def test_posts_from_another_origin_are_refused(origin: str) -> None:
    reason = refusal("post", "127.0.0.1:8080", "http", origin)
    assert reason is not None and origin in reason
