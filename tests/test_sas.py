"""SAS tokens: built like the SDK builds them, verified like IoT Hub verifies them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from azure.iot.device.common.auth.sastoken import RenewableSasToken
from azure.iot.device.common.auth.signing_mechanism import SymmetricKeySigningMechanism

from central.hub import auth
from central.hub.auth import AuthError, KeyStore

URI = "central-edge.local/devices/edge-local/modules/camera"
KEY = auth.new_key()


def test_accepts_the_sdks_token() -> None:
    token = RenewableSasToken(URI, SymmetricKeySigningMechanism(KEY), ttl=60)
    auth.verify_token(str(token), URI, KEY)


def test_built_token_verifies() -> None:
    auth.verify_token(auth.build_token(URI, KEY), URI, KEY)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (auth.build_token(URI, auth.new_key()), "signature"),
        (auth.build_token(URI, KEY, ttl_s=-1), "expired"),
        (auth.build_token(URI.replace("camera", "vision"), KEY), "is for"),
        (auth.build_token(URI, KEY).replace("sr=", "xx="), "lacks field 'sr'"),
        (auth.build_token(URI, KEY).replace("&se=", "&se=x"), "not a number"),
        ("Basic abc", "not a SharedAccessSignature"),
    ],
    ids=["wrong key", "expired", "other module", "no sr", "bad expiry", "not SAS"],
)
def test_refuses(token: str, reason: str) -> None:
    with pytest.raises(AuthError, match=reason):
        auth.verify_token(token, URI, KEY)


def test_tampered_expiry_breaks_the_signature() -> None:
    token = auth.build_token(URI, KEY, ttl_s=60)
    se = token.rsplit("se=", 1)[1]
    with pytest.raises(AuthError, match="signature"):
        auth.verify_token(token.replace(f"se={se}", f"se={int(se) + 3600}"), URI, KEY)


def test_keystore_persists_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    store.ensure(["camera", "sensor"])
    again = KeyStore(path)
    assert again.key_for("camera") == store.key_for("camera")
    assert again.hub_owner_key == store.hub_owner_key
    assert again.key_for("vision") is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again.ensure(["vision"])
    assert KeyStore(path).key_for("sensor") == store.key_for("sensor")
