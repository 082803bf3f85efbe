"""The IoT Edge workload API as the SDK calls it (Azure/iotedge edgelet workload spec).

`GET /trust-bundle` gives the local CA so modules trust the hub's TLS certificate;
`POST /modules/{m}/genid/{g}/sign` signs SAS token data with the module's key, so the
key itself never leaves the hub. Every call needs a known `api-version`; errors carry
edgelet's `{"message": ...}` body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from http import HTTPStatus

from central.hub.auth import KeyStore, sign
from central.hub.http import Request, Response

API_VERSIONS = frozenset({"2018-06-28", "2019-01-30", "2019-11-05", "2020-07-07", "2021-12-07", "2022-08-03"})
API_VERSION = "2019-01-30"
"""The version written into IOTEDGE_APIVERSION; the SDK only passes it through."""

_SIGN_PATH = re.compile(r"^/modules/(?P<module>[^/]+)/genid/(?P<genid>[^/]+)/sign$")


def generation_id(key_b64: str) -> str:
    """A module's generation id: stable while its key is, and revealing nothing about the key."""
    return hmac.new(base64.b64decode(key_b64), b"generation-id", hashlib.sha256).hexdigest()[:16]


def _error(status: HTTPStatus, message: str) -> Response:
    return Response(status, json.dumps({"message": message}).encode())


def _ok(document: dict[str, str]) -> Response:
    return Response(HTTPStatus.OK, json.dumps(document).encode())


class WorkloadApi:
    """Answers workload API requests from the module keys and the CA certificate."""

    def __init__(self, keys: KeyStore, trust_bundle_pem: str) -> None:
        self.keys = keys
        self.trust_bundle_pem = trust_bundle_pem

    def handle(self, request: Request) -> Response:
        version = request.query.get("api-version")
        if version not in API_VERSIONS:
            return _error(HTTPStatus.BAD_REQUEST, f"api-version {version!r} is not supported")
        if request.path == "/trust-bundle":
            if request.method != "GET":
                return _error(HTTPStatus.METHOD_NOT_ALLOWED, "trust-bundle takes GET")
            return _ok({"certificate": self.trust_bundle_pem})
        match = _SIGN_PATH.match(request.path)
        if match is None:
            return _error(HTTPStatus.NOT_FOUND, f"no such resource {request.path!r}")
        if request.method != "POST":
            return _error(HTTPStatus.METHOD_NOT_ALLOWED, "sign takes POST")
        return self._sign(match["module"], match["genid"], request.body)

    def _sign(self, module: str, genid: str, body: bytes) -> Response:
        key = self.keys.key_for(module)
        if key is None or genid != generation_id(key):
            return _error(HTTPStatus.NOT_FOUND, f"module {module!r} with generation id {genid!r} not found")
        try:
            sign_request = json.loads(body)
            key_id, algo, data = sign_request["keyId"], sign_request["algo"], sign_request["data"]
            message = base64.b64decode(data, validate=True).decode("utf-8")
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            return _error(HTTPStatus.BAD_REQUEST, f"sign request body is invalid: {e}")
        if key_id != "primary":
            return _error(HTTPStatus.BAD_REQUEST, f"keyId {key_id!r} is not supported (use 'primary')")
        if algo != "HMACSHA256":
            return _error(HTTPStatus.BAD_REQUEST, f"algo {algo!r} is not supported (use 'HMACSHA256')")
        return _ok({"digest": sign(key, message)})
