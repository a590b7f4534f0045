"""STARTTLS on the inbound service: offered with a certificate, required when the settings say
so (a public MX should), the reply then read as any other."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import aiosmtplib
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from directory.store import LazyDirectory
from inbound.server import serve
from tests.conftest import make_harness_settings
from tests.helpers import free_port


def certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reponses.alliance.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_starttls_is_offered_and_required_when_asked(dev_env, tmp_path: Path):
    cert, key = certificate(tmp_path)
    port = free_port()
    settings = make_harness_settings(
        tmp_path,
        reply_domain="reponses.alliance.test",
        token_secret="test-secret",
        inbound_tls_cert=cert,
        inbound_tls_key=key,
        inbound_require_tls=True,
        inbound_port=port,
    )
    directory = LazyDirectory(settings.directory_address)
    server = await serve(settings, dev_env.client, directory, port=port)
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as plain:
            with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
                await plain.mail("p1@example.org")
            assert refused.value.code == 530  # STARTTLS first
        async with aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, start_tls=True, validate_certs=False
        ) as secure:
            assert secure.is_connected and secure.get_transport_info("sslcontext") is not None
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
                await secure.sendmail("p1@example.org", ["ami@gmail.com"], b"Subject: x\r\n\r\nOUI")
    finally:
        server.close()
        await server.wait_closed()
        await directory.close()
