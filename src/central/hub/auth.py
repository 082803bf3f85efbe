"""SAS tokens (build and verify, as IoT Hub does) and the store of per-module keys.

A module's token is `SharedAccessSignature sr={urlenc(uri)}&sig={urlenc(b64(HMAC-SHA256(key,
urlenc(uri) + "\\n" + expiry)))}&se={expiry}` for the resource `{hub}/devices/{d}/modules/{m}`.
Keys are made at first start and kept in `<state-dir>/keys.json` with mode 0600, so
modules started from a `.env` file keep working across hub restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

PREFIX = "SharedAccessSignature "


class AuthError(Exception):
    """A credential that does not authorise the connection; the message says why (never the key)."""


def sign(key_b64: str, data: str) -> str:
    """base64(HMAC-SHA256(base64-decoded key, data)): what the workload API's sign returns."""
    digest = hmac.new(base64.b64decode(key_b64), data.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def resource_uri(hub_hostname: str, device_id: str, module_id: str) -> str:
    return f"{hub_hostname}/devices/{device_id}/modules/{module_id}"


def build_token(uri: str, key_b64: str, ttl_s: int = 3600, now: float | None = None) -> str:
    expiry = int((time.time() if now is None else now) + ttl_s)
    encoded_uri = urllib.parse.quote(uri, safe="")
    signature = urllib.parse.quote(sign(key_b64, f"{encoded_uri}\n{expiry}"), safe="")
    return f"{PREFIX}sr={encoded_uri}&sig={signature}&se={expiry}"


@dataclass(frozen=True)
class SasToken:
    resource: str
    """`sr` exactly as sent (percent-encoded): the signature covers these bytes."""
    signature: str
    expiry: int

    @property
    def uri(self) -> str:
        return urllib.parse.unquote(self.resource)


def parse_token(token: str) -> SasToken:
    if not token.startswith(PREFIX):
        raise AuthError("password is not a SharedAccessSignature")
    fields = dict(part.partition("=")[::2] for part in token[len(PREFIX) :].split("&"))
    try:
        return SasToken(fields["sr"], urllib.parse.unquote(fields["sig"]), int(fields["se"]))
    except KeyError as e:
        raise AuthError(f"SAS token lacks field {e.args[0]!r}") from e
    except ValueError as e:
        raise AuthError("SAS token expiry 'se' is not a number") from e


def verify_token(token: str, expected_uri: str, key_b64: str, now: float | None = None) -> None:
    """Raise AuthError unless `token` is a valid, unexpired signature for `expected_uri` with `key_b64`."""
    sas = parse_token(token)
    if sas.uri.lower() != expected_uri.lower():
        raise AuthError(f"SAS token is for {sas.uri!r}, not {expected_uri!r}")
    if sas.expiry <= (time.time() if now is None else now):
        raise AuthError("SAS token expired")
    expected = sign(key_b64, f"{sas.resource}\n{sas.expiry}")
    if not hmac.compare_digest(expected.encode(), sas.signature.encode()):
        raise AuthError("SAS token signature does not match the module's key")


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class KeyStore:
    """Per-module symmetric keys plus the hub owner key, persisted in a 0600 JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = json.loads(path.read_text()) if path.exists() else {}
        self._modules: dict[str, str] = dict(data.get("modules", {}))
        self.hub_owner_key: str = data.get("hub_owner") or new_key()
        if not path.exists():
            self._save()

    def key_for(self, module: str) -> str | None:
        return self._modules.get(module)

    def ensure(self, modules: list[str]) -> None:
        """Give every module in `modules` a key (existing keys are kept, so tokens stay valid)."""
        missing = [m for m in modules if m not in self._modules]
        for module in missing:
            self._modules[module] = new_key()
        if missing:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"modules": self._modules, "hub_owner": self.hub_owner_key}, f, indent=2)
        tmp.replace(self.path)
        self.path.chmod(0o600)
