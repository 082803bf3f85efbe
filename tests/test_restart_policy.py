"""edgeAgent restart rules (REFERENCE section 3), checked as a table."""

import pytest

from central.agent.restart_policy import (
    Decision,
    ExitKind,
    RestartPolicy,
    Timing,
    backoff_s,
    decide,
    parse_policy,
)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, 10), (1, 20), (2, 40), (3, 80), (4, 160), (5, 300), (6, 300), (19, 300), (200, 300)],
)
def test_backoff_doubles_from_ten_seconds_and_caps_at_five_minutes(count: int, expected: float) -> None:
    assert backoff_s(count) == expected


@pytest.mark.parametrize(
    ("policy", "exit_code", "restarts"),
    [
        ("never", 1, False),
        ("never", 0, False),
        ("on-failure", 1, True),
        ("on-failure", -9, True),
        ("on-failure", 0, False),
        ("on-unhealthy", 137, True),
        ("on-unhealthy", 0, False),
        ("always", 0, True),
        ("always", 2, True),
    ],
)
def test_policy_decides_restart_by_exit_code(policy: str, exit_code: int, restarts: bool) -> None:
    decision = decide(parse_policy(policy), exit_code, restart_count=0, ran_for_s=1)
    assert decision.restart is restarts
    assert decision.final_status is (ExitKind.STOPPED if exit_code == 0 else ExitKind.FAILED)


def test_first_restart_waits_ten_seconds_and_counts_one() -> None:
    assert decide(RestartPolicy.ON_FAILURE, 1, 0, ran_for_s=2) == Decision(True, 10, 1, ExitKind.FAILED)


def test_after_twenty_restarts_module_stays_failed() -> None:
    assert decide(RestartPolicy.ALWAYS, 1, 19, ran_for_s=1).restart is True
    final = decide(RestartPolicy.ALWAYS, 1, 20, ran_for_s=1)
    assert (final.restart, final.final_status, final.restart_count) == (False, ExitKind.FAILED, 20)


def test_count_resets_after_ten_minutes_running() -> None:
    assert decide(RestartPolicy.ALWAYS, 1, 20, ran_for_s=600) == Decision(True, 10, 1, ExitKind.FAILED)
    assert decide(RestartPolicy.ALWAYS, 1, 5, ran_for_s=599).delay_s == 300


def test_timing_is_configurable_for_tests() -> None:
    fast = Timing(base_backoff_s=0.1, max_backoff_s=0.3, max_restarts=2, reset_after_s=5)
    assert [backoff_s(n, fast) for n in range(4)] == [0.1, 0.2, 0.3, 0.3]
    assert decide(RestartPolicy.ALWAYS, 1, 2, ran_for_s=1, timing=fast).restart is False


def test_default_policy_is_always_and_unknown_names_the_field() -> None:
    assert parse_policy(None) is RestartPolicy.ALWAYS
    with pytest.raises(ValueError, match="restartPolicy 'sometimes'"):
        parse_policy("sometimes")
