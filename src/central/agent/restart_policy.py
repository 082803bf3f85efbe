"""edgeAgent restart semantics, as pure functions.

Every rule the agent follows when a module process ends lives here, so the
supervisor only asks questions and never re-derives them:

- exit code 0 means the module *stopped*; any other code means it *failed*
  (a process killed by a signal counts as failed);
- `never` restarts nothing, `on-failure` restarts failed modules, `always`
  restarts failed and stopped ones;
- `on-unhealthy` restarts failed modules here; the local agent runs no health
  checks, so it behaves like `on-failure` (see docs/differences.md);
- the wait before restart number n (counted from 0) is min(10 s * 2^n, 300 s);
- after 20 restarts the module stays failed;
- the restart count resets once the module has been running for 10 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RestartPolicy(StrEnum):
    NEVER = "never"
    ON_FAILURE = "on-failure"
    ON_UNHEALTHY = "on-unhealthy"
    ALWAYS = "always"


class ExitKind(StrEnum):
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Timing:
    """The numbers of the policy; tests shrink them, the agent uses the defaults."""

    base_backoff_s: float = 10.0
    max_backoff_s: float = 300.0
    max_restarts: int = 20
    reset_after_s: float = 600.0


EDGE_AGENT_TIMING = Timing()


@dataclass(frozen=True)
class Decision:
    """What to do after a module exited: restart after `delay_s`, or stay `final_status`."""

    restart: bool
    delay_s: float
    restart_count: int
    final_status: ExitKind


def parse_policy(value: str | None) -> RestartPolicy:
    """The manifest's `restartPolicy`; edgeAgent's default is `always`."""
    if value is None:
        return RestartPolicy.ALWAYS
    try:
        return RestartPolicy(value)
    except ValueError:
        allowed = ", ".join(p.value for p in RestartPolicy)
        raise ValueError(f"restartPolicy {value!r} is not one of {allowed}") from None


def exit_kind(exit_code: int) -> ExitKind:
    return ExitKind.STOPPED if exit_code == 0 else ExitKind.FAILED


def backoff_s(restart_count: int, timing: Timing = EDGE_AGENT_TIMING) -> float:
    """The wait before restart number `restart_count` (0 for the first restart)."""
    exponent = min(restart_count, 32)  # 2^32 * 10 s is already far past the cap
    return min(timing.base_backoff_s * 2**exponent, timing.max_backoff_s)


def restarts_for(policy: RestartPolicy, kind: ExitKind) -> bool:
    """Whether `policy` restarts a module that ended as `kind`."""
    if policy is RestartPolicy.NEVER:
        return False
    if policy is RestartPolicy.ALWAYS:
        return True
    return kind is ExitKind.FAILED


def count_after_run(restart_count: int, ran_for_s: float, timing: Timing = EDGE_AGENT_TIMING) -> int:
    """The restart count once a run of `ran_for_s` seconds has ended: long runs wipe the slate."""
    return 0 if ran_for_s >= timing.reset_after_s else restart_count


def decide(
    policy: RestartPolicy,
    exit_code: int,
    restart_count: int,
    ran_for_s: float,
    timing: Timing = EDGE_AGENT_TIMING,
) -> Decision:
    """What the agent does when a module that had `restart_count` restarts exits with `exit_code`."""
    kind = exit_kind(exit_code)
    count = count_after_run(restart_count, ran_for_s, timing)
    if not restarts_for(policy, kind) or count >= timing.max_restarts:
        return Decision(restart=False, delay_s=0.0, restart_count=count, final_status=kind)
    return Decision(restart=True, delay_s=backoff_s(count, timing), restart_count=count + 1, final_status=kind)
