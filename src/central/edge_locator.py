"""How `central` commands find the running local edge, and how `central up` says it runs.

`central up` writes `<state>/edge.json` (its pid, bind address, device id,
ports) and holds an exclusive lock on `<state>/up.lock` while it runs. Other
commands find the state dir from `--state-dir`, then `CENTRAL_STATE_DIR`, then
`.central`, and build the hub owner connection string from edge.json and the
owner key in keys.json.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

DEFAULT_STATE_DIR = Path(".central")
STATE_DIR_ENV = "CENTRAL_STATE_DIR"
EDGE_FILE = "edge.json"
LOCK_FILE = "up.lock"
KEYS_FILE = "keys.json"
CA_FILE = Path("certs") / "ca.pem"
OWNER_POLICY = "iothubowner"


class EdgeNotRunningError(RuntimeError):
    """No local edge runs for this state dir; the message says how to start one."""


class AlreadyRunningError(RuntimeError):
    """Another `central up` holds the state dir."""


@dataclass(frozen=True)
class EdgeInfo:
    pid: int
    bind: str
    device_id: str
    hub_hostname: str
    ports: Mapping[str, int] = field(default_factory=dict)

    @property
    def service_host(self) -> str:
        return f"{self.bind}:{self.ports['service']}"


def state_dir(arg: str | os.PathLike[str] | None = None) -> Path:
    """`--state-dir`, else $CENTRAL_STATE_DIR, else `.central`."""
    chosen = arg or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR
    return Path(chosen).expanduser().resolve()


def write_edge_info(state: Path, info: EdgeInfo) -> None:
    tmp = state / (EDGE_FILE + ".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    tmp.replace(state / EDGE_FILE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_edge_info(state: Path) -> EdgeInfo:
    """The running edge of `state`; EdgeNotRunningError if none runs."""
    try:
        doc = json.loads((state / EDGE_FILE).read_text(encoding="utf-8"))
        info = EdgeInfo(**doc)
    except FileNotFoundError:
        raise EdgeNotRunningError(f"no local edge in {state}: start one with `central up`") from None
    except (ValueError, TypeError) as e:
        raise EdgeNotRunningError(f"{state / EDGE_FILE} is unreadable ({e}); restart `central up`") from e
    if not _alive(info.pid):
        raise EdgeNotRunningError(f"the local edge in {state} is not running (pid {info.pid} ended)")
    return info


def owner_key(state: Path) -> str:
    try:
        return str(json.loads((state / KEYS_FILE).read_text(encoding="utf-8"))["hub_owner"])
    except (OSError, ValueError, KeyError) as e:
        raise EdgeNotRunningError(f"no hub owner key in {state / KEYS_FILE}: start the edge with `central up`") from e


def owner_connection_string(host: str, key: str) -> str:
    """The connection string an operator tool uses for the local service API at `host` (`<bind>:<port>`)."""
    return f"HostName={host};SharedAccessKeyName={OWNER_POLICY};SharedAccessKey={key}"


@contextlib.contextmanager
def single_instance(state: Path) -> Iterator[IO[str]]:
    """Hold `<state>/up.lock` for the duration; AlreadyRunningError if another `central up` holds it."""
    state.mkdir(parents=True, exist_ok=True)
    with (state / LOCK_FILE).open("a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise AlreadyRunningError(f"central up is already running for {state} (pid {holder})") from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
