"""A Temporal cluster elsewhere, reached with mutual TLS: a TLS front (as a cluster's or Temporal
Cloud's) that demands a client certificate from a private CA, before the dev server. The
worker and the client, built from settings only, run a project through it; without the client
certificate, or trusting another CA, nothing connects."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr, ValidationError

import temporal_client
from settings import Settings
from tests.helpers import TEST_CODEC_KEYS, make_spec
from worker import build_worker
from workflows.project import ProjectWorkflow


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A private CA, a server certificate for temporal.alliance.test and a client one."""

    def __init__(self, folder: Path, name: str = "Alliance test CA") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate(name, ca_key, None, ca=True)
        issuer = (ca.subject, ca_key)
        for stem, subject, server in (
            ("server", "temporal.alliance.test", True),
            ("client", "alliance-worker", False),
        ):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _certificate(subject, key, issuer, server=server)
            self.write(f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM))
            self.write(
                f"{stem}.key",
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
        self.write("ca.pem", ca.public_bytes(serialization.Encoding.PEM))

    def write(self, name: str, data: bytes) -> None:
        (self.folder / name).write_bytes(data)

    def path(self, name: str) -> Path:
        return self.folder / name


class MutualTlsFront:
    """TLS (HTTP/2 by ALPN) with a required client certificate, passing the bytes through to
    the dev server's plain gRPC port."""

    def __init__(self, pki: Pki, upstream: str) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(pki.path("server.pem"), pki.path("server.key"))
        self.context.load_verify_locations(pki.path("ca.pem"))
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.set_alpn_protocols(["h2"])
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.handshakes_refused = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.context, ssl_handshake_timeout=5
        )
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def cluster_settings(tmp_path: Path, address: str, pki: Pki, **overrides) -> Settings:
    return Settings(
        data_dir=tmp_path,
        temporal_address=address,
        task_queue=f"alliance-mtls-{tmp_path.name[-6:]}",
        notifications="outbox",
        codec_keys={k: SecretStr(v) for k, v in TEST_CODEC_KEYS.items()},
        temporal_tls_cert=pki.path("client.pem"),
        temporal_tls_key=pki.path("client.key"),
        temporal_tls_ca=pki.path("ca.pem"),
        temporal_tls_server_name="temporal.alliance.test",
        **overrides,
    )


async def test_a_project_runs_on_a_cluster_reached_with_mutual_tls(dev_env, tmp_path):
    pki = Pki(tmp_path / "pki")
    front = MutualTlsFront(pki, dev_env.client.service_client.config.target_host)
    address = await front.start()
    try:
        settings = cluster_settings(tmp_path, address, pki)
        client = await temporal_client.connect(settings)
        async with build_worker(client, settings):
            handle = await temporal_client.start_project(
                client, make_spec(2), task_queue=settings.task_queue
            )
            assert (await handle.query(ProjectWorkflow.view)).phase == "diagnosis"

        # No client certificate: the front refuses the handshake.
        bare = settings.model_copy(update={"temporal_tls_cert": None, "temporal_tls_key": None})
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(temporal_client.connect(bare), 30)
        # A server certificate from a CA we do not trust: refused by the client.
        other = Pki(tmp_path / "other", name="Someone else's CA")
        wrong_ca = settings.model_copy(update={"temporal_tls_ca": other.path("ca.pem")})
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(temporal_client.connect(wrong_ca), 30)
    finally:
        await front.stop()


def test_the_cluster_settings_say_what_is_missing(tmp_path):
    with pytest.raises(ValidationError, match="go together"):
        Settings(temporal_tls_cert=tmp_path / "client.pem")
    with pytest.raises(ValidationError, match="no file at"):
        Settings(temporal_tls_ca=tmp_path / "missing-ca.pem")
    # An API key alone means TLS with the system's CAs (Temporal Cloud); blank means unset.
    keyed = Settings(temporal_api_key="secret-key")
    assert temporal_client.tls_config(keyed) is True
    assert temporal_client.tls_config(Settings(temporal_api_key="")) is False
    assert temporal_client.tls_config(Settings()) is False
