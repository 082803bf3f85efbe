"""The local CA and the hub's TLS server certificate, kept in `<state-dir>/certs/`.

The SDK verifies the server against the workload API's trust bundle (the CA) with
`check_hostname=True`, so the server certificate carries SANs for the bind address
(IOTEDGE_GATEWAYHOSTNAME) and `localhost`. The CA is made once and kept; the server
certificate is reissued when the bind address changes or it nears expiry.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class CertPaths:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def under(cls, certs_dir: Path) -> CertPaths:
        return cls(certs_dir / "ca.pem", certs_dir / "ca.key", certs_dir / "server.pem", certs_dir / "server.key")


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _make_ca(paths: CertPaths) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Central Edge local CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(paths.ca_key, key)
    paths.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _server_ok(paths: CertPaths, bind: str) -> bool:
    if not (paths.server_cert.exists() and paths.server_key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    fresh = cert.not_valid_after_utc - RENEW_BEFORE > _now()
    return bind in ips and fresh and cert.issuer == ca.subject


def _make_server(paths: CertPaths, bind: str) -> None:
    ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    sans = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(bind)), x509.DNSName("localhost")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(bind))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=SERVER_DAYS))
        .add_extension(sans, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(paths.server_key, key)
    paths.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_certs(certs_dir: Path, bind: str) -> CertPaths:
    """Make or reuse the CA and a server certificate valid for `bind`; return their paths."""
    certs_dir.mkdir(parents=True, exist_ok=True)
    paths = CertPaths.under(certs_dir)
    if not (paths.ca_cert.exists() and paths.ca_key.exists()):
        _make_ca(paths)
    if not _server_ok(paths, bind):
        _make_server(paths, bind)
    return paths
