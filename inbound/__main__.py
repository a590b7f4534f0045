"""The inbound mail service as a process of its own: replies to the decision e-mails,
recorded as answers (inbound/server.py).

python -m inbound    # on ALLIANCE_INBOUND_HOST:ALLIANCE_INBOUND_PORT, for ALLIANCE_REPLY_DOMAIN
"""

from __future__ import annotations

import asyncio
import signal

import structlog

import startup
import temporal_client
from directory.store import LazyDirectory
from inbound.server import serve
from telemetry import configure_logging

log = structlog.get_logger("alliance.inbound")


async def run() -> None:
    settings = startup.settings_or_exit()
    if not settings.reply_domain:
        startup.refuse(
            "ALLIANCE_REPLY_DOMAIN is not set: the inbound service takes replies for that "
            "domain only (its MX, or a relay, leads here)"
        )
    if settings.inbound_require_tls and (
        settings.inbound_tls_cert is None or settings.inbound_tls_key is None
    ):
        startup.refuse(
            "ALLIANCE_INBOUND_REQUIRE_TLS is set but there is no certificate: set "
            "ALLIANCE_INBOUND_TLS_CERT and ALLIANCE_INBOUND_TLS_KEY (PEM files)"
        )
    await startup.ensure_startable(settings, "inbound")
    configure_logging(settings)
    client = await temporal_client.connect(settings)
    directory = LazyDirectory(settings.directory_address)
    server = await serve(settings, client, directory)
    log.info("inbound mail service listening", host=settings.inbound_host,
             port=settings.inbound_port, domain=settings.reply_domain,
             starttls=settings.inbound_tls_cert is not None)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await directory.close()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
