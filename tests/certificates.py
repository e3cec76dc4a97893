"""Test certificates: a self-signed wildcard certificate for a test domain (https Hubs on ``*.hub.test``;
the integration and browser harness, and unit tests of the service's TLS settings)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["wildcard_certificate"]


def wildcard_certificate(folder: Path, domain: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``domain``, ``*.domain`` and 127.0.0.1, and its key: ``wildcard.crt``
    and ``wildcard.key`` in ``folder``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    names = [
        x509.DNSName(domain),
        x509.DNSName(f"*.{domain}"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "wildcard.crt", folder / "wildcard.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
