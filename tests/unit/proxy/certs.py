"""Certificates as JupyterHub's ``internal_ssl`` makes them, for the proxy's TLS tests."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Certs = dict[str, Path]


def make_certs(folder: Path) -> Certs:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as JupyterHub's internal_ssl."""
    now = datetime.datetime.now(datetime.UTC)

    def issue(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None, **kw: bool
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]) if issuer else name
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        )
        if kw.get("server"):
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(issuer[1] if issuer else key, hashes.SHA256())

    def write(stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        (folder / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{stem}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    ca_key, other_ca_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("internal-ca", ca_key, None)
    write("ca", ca, ca_key)
    write("other-ca", issue("other-ca", other_ca_key, None), other_ca_key)
    for stem, server in (("hub", True), ("proxy", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        write(stem, issue(stem, key, ("internal-ca", ca_key), server=server), key)
    return {stem: folder / f"{stem}.crt" for stem in ("ca", "other-ca", "hub", "proxy")} | {
        f"{stem}-key": folder / f"{stem}.key" for stem in ("hub", "proxy")
    }
