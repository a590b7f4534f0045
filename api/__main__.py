"""The API as a process of its own, with Alliance's log lines.

python -m api        # on ALLIANCE_API_HOST:ALLIANCE_API_PORT, settings from ALLIANCE_* variables
"""

from __future__ import annotations

import uvicorn
from temporalio.runtime import Runtime

import startup
from api.app import create_app
from telemetry import configure_logging, runtime


def main() -> None:
    # What the API needs, checked before it serves (startup.py): or one line and exit code 2.
    settings = startup.settings_or_exit()
    startup.ensure_startable_now(settings, "api")
    configure_logging(settings)
    # Temporal Core's log lines through Python's logging, as JSON lines like the rest.
    Runtime.set_default(runtime(settings, metrics=False), error_if_already_set=False)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        # Alliance's logging, not uvicorn's; no access log: personal links carry their token in
        # the path (/p/<token>). The API logs each request itself, by its route's template.
        log_config=None,
        access_log=False,
        # Behind the reverse proxy: the client's address and scheme from its headers.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
