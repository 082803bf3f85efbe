"""The workload API as the SDK's edge_hsm calls it, and what it refuses."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from central.hub.auth import KeyStore, sign
from central.hub.http import HttpError, Request, format_response, parse_request
from central.hub.workload import API_VERSION, WorkloadApi, generation_id


@pytest.fixture
def api(tmp_path: Path) -> WorkloadApi:
    keys = KeyStore(tmp_path / "keys.json")
    keys.ensure(["camera"])
    return WorkloadApi(keys, "-----BEGIN CERTIFICATE-----\n")


def sign_request(api: WorkloadApi, body: object, genid: str | None = None, version: str = API_VERSION) -> Request:
    genid = genid or generation_id(api.keys.key_for("camera") or "")
    path = f"/modules/camera/genid/{genid}/sign"
    return Request("POST", path, {"api-version": version}, {}, json.dumps(body).encode())


def test_trust_bundle(api: WorkloadApi) -> None:
    response = api.handle(Request("GET", "/trust-bundle", {"api-version": API_VERSION}, {}, b""))
    assert json.loads(response.body) == {"certificate": "-----BEGIN CERTIFICATE-----\n"}


def test_sign(api: WorkloadApi) -> None:
    data = "central-edge.local%2Fdevices%2Fedge-local%2Fmodules%2Fcamera\n1700000000"
    body = {"keyId": "primary", "algo": "HMACSHA256", "data": base64.b64encode(data.encode()).decode()}
    response = api.handle(sign_request(api, body))
    assert response.status == 200
    assert json.loads(response.body) == {"digest": sign(api.keys.key_for("camera") or "", data)}


GOOD = {"keyId": "primary", "algo": "HMACSHA256", "data": "aGk="}


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"version": "2000-01-01"}, 400, "api-version"),
        ({"genid": "0000"}, 404, "generation id"),
        ({"body": {**GOOD, "algo": "SHA1"}}, 400, "algo"),
        ({"body": {**GOOD, "keyId": "secondary"}}, 400, "keyId"),
        ({"body": {**GOOD, "data": "%%%"}}, 400, "invalid"),
        ({"body": ["x"]}, 400, "invalid"),
    ],
)
def test_refused_sign_requests(api: WorkloadApi, change: dict, status: int, message: str) -> None:
    response = api.handle(sign_request(api, change.pop("body", GOOD), **change))
    assert response.status == status
    assert message in json.loads(response.body)["message"]


def test_http_request_parsing_waits_for_the_body() -> None:
    raw = b"POST /a%20b?api-version=1&x= HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"
    buffer = bytearray(raw[:-1])
    assert parse_request(buffer) is None
    buffer += raw[-1:] + b"GET"
    request = parse_request(buffer)
    assert request == Request(
        "POST", "/a b", {"api-version": "1", "x": ""}, {"host": "h", "content-length": "2"}, b"{}"
    )
    assert buffer == b"GET"


@pytest.mark.parametrize(
    "raw",
    [
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /" + b"a" * 20_000,
    ],
    ids=["request line", "header", "length", "too long", "chunked", "head too large"],
)
def test_http_refuses_bad_requests(raw: bytes) -> None:
    with pytest.raises(HttpError):
        parse_request(bytearray(raw))


def test_http_response_bytes() -> None:
    from central.hub.http import Response

    assert format_response(Response(404, b"no", {"Content-Type": "text/plain"})) == (
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nno"
    )
