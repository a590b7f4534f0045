"""All of Alliance's settings, read from the environment (prefix ALLIANCE_)."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.project import MIN_PHASE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLIANCE_", env_file=".env", extra="ignore")

    temporal_address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = "alliance"
    # Where the local run keeps its state: the dev server's SQLite file, outbox and reports.
    data_dir: Path = Path(".data")
    ui_port: int = 8233
    ui_url: str = "http://localhost:8233"
    # Bounded workflow cache: a waiting project costs memory only while it is cached.
    max_cached_workflows: int = 1000
    # Continue-as-new once a run's history reaches this many events (or when the server says so).
    continue_as_new_after_events: int = 10_000
    # How long a project launched now holds its news before telling it (since 1.3): what
    # happens together reaches each reader as one message (a phase opened and closed within
    # it, not at all). 0: each piece at once. A project keeps the window it was launched with.
    mail_window_seconds: float = Field(default=120, ge=0, le=3600)
    # How many times one personal link may be used in a minute (its page opened, or the API
    # called with it); past it, 429 with Retry-After. Per API process.
    link_per_minute: int = Field(default=120, ge=1)
    # The longest wait between two tries of a message or a webhook delivery that failed (since
    # 1.3; the wait doubles from one second up to this). Shorter: mail comes sooner after an
    # outage, for more tries against a server still down. A project keeps what it was
    # launched with; messages still failing after 24 hours are given up either way.
    notify_retry_max_seconds: float = Field(default=600, ge=1, le=3600)
    # A mail worker of its own runs (since 1.3, `python -m worker --mail`): a project launched
    # now sends all its mail from the mail task queue (`<task queue>-mail`), so composing mail
    # never delays its partners' actions, and the plain workers serve the projects alone.
    # False: each project's mail from its own worker, at once first; the plain workers still
    # serve the mail task queue, for projects launched while it was true.
    mail_worker: bool = False
    # A Temporal cluster elsewhere (Temporal Cloud, a cluster of your own): TLS, with a client
    # certificate (mTLS) or an API key. Paths to PEM files.
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    # The server's CA when it is not a public one; the name its certificate is for when it
    # differs from the address's host.
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: SecretStr | None = None

    # -- what ops see (telemetry.py) --
    # "json": one JSON object per line; "console": colours for a person at a terminal; "auto":
    # console when the output is a terminal, else JSON.
    log_format: Literal["auto", "json", "console"] = "auto"
    # The worker's Prometheus endpoint (Temporal's runtime metrics and Alliance's domain
    # counters) at http://<metrics_host>:<port>/metrics. Unset: none. Two workers on one host
    # need two ports; the API serves its own metrics on its /metrics.
    worker_metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # OpenTelemetry traces go to this OTLP/HTTP endpoint (e.g. http://otel-collector:4318);
    # unset: no tracing at all.
    otlp_endpoint: str | None = None

    # -- the HTTP API --
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Public base URL of the API, for the links it prints and returns.
    api_url: str = "http://localhost:8000"
    # Signs participants' personal tokens. Unset: the local run keeps one in data_dir.
    token_secret: SecretStr | None = None
    # Coordinator credentials: {"<credential>": "<coordinating organisation id>"} (JSON in env).
    coordinator_credentials: dict[str, str] = Field(default_factory=dict)
    # Ops credentials list every project, of every organisation.
    ops_credentials: list[str] = Field(default_factory=list)
    # How long the API waits on Temporal (and on a worker answering) before a 503.
    rpc_timeout_seconds: float = 5.0
    # Each API process sends at most this many updates at once to one project; the actions
    # that wait meanwhile go together as one update (group commit). Temporal accepts 10 in
    # flight per workflow: past it (several API processes together) an update is sent again
    # after a pause, never refused.
    updates_in_flight_per_project: int = Field(default=2, ge=1)
    max_body_bytes: int = 256 * 1024
    # Proxies whose X-Forwarded-* headers the API believes (python -m api): the compose file's
    # reverse proxy. A comma-separated list of addresses, or "*".
    forwarded_allow_ips: str = "127.0.0.1"
    # A worker whose last poll of the task queue is older is taken as stopped (an idle worker
    # polls at least every 70 s).
    worker_seen_within: timedelta = timedelta(minutes=2)
    # The shortest phase a launch accepts (action may be 0: skipped). Tests and the benchmark
    # lower it to run whole lifecycles in seconds.
    min_phase: timedelta = MIN_PHASE
    # How many partners' answers one partner may hold by delegation at once (read at launch).
    max_delegations: int = Field(default=2, ge=1, le=20)
    # How long after closing a step by hand the facilitator may reopen it (read at launch).
    reopen_within: timedelta = timedelta(days=7)

    # -- the contact directory (directory/): people's details, outside Temporal --
    # A SQLAlchemy async URL, e.g. postgresql+asyncpg://user:password@host/alliance. Unset: a
    # SQLite file in data_dir (the local run's).
    directory_url: SecretStr | None = None
    # How long a closed project's contact details are kept (ISO 8601, e.g. P1825D): a daily
    # Temporal Schedule erases them after that.
    retention: timedelta = timedelta(days=5 * 365)

    # -- encryption of what Temporal stores (codec.py) --
    # {"<key id>": "<32 bytes, URL-safe base64>"} as JSON: the last key encrypts, every key
    # decrypts. Required outside the local run, which makes one in data_dir.
    codec_keys: dict[str, SecretStr] = Field(default_factory=dict)
    # The codec server the Temporal UI calls to show decoded payloads to ops.
    codec_host: str = "127.0.0.1"
    codec_port: int = 8234
    # Where the UI (in the ops person's browser) and the CLI reach it.
    codec_url: str = "http://localhost:8234"
    # Bearer tokens the codec server accepts (the UI forwards its user's token). Empty: it
    # serves loopback only, as in the local run, where the dev server's UI sends no credential.
    codec_tokens: list[SecretStr] = Field(default_factory=list)

    # -- e-mail (activities/mail/) --
    # "email" sends through SMTP; "outbox" only writes JSON lines under data_dir/outbox (no
    # message, no link): for tests and measurements.
    notifications: Literal["email", "outbox"] = "email"
    # The mail server. The defaults are the local run's mail catcher (run_local.py), which
    # keeps every message under data_dir/mail and lists them at <api_url>/courrier.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    # "none" (a local catcher or relay), "starttls" (usually port 587), "tls" (usually 465).
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 10.0
    # SMTP connections a worker keeps open between batches (checked with NOOP before reuse).
    smtp_pool_size: int = Field(default=4, ge=0, le=64)
    # Who the messages come from; also the ORGANIZER of the calendar entries.
    mail_from: str = "Alliance <alliance@localhost>"
    # The local run starts its mail catcher when the SMTP host is this machine's loopback.
    mail_catcher: bool = True

    # -- answering by replying to the e-mail (inbound/) --
    # The domain of the reply addresses (reponse+<token>@<domain>), whose MX (or a relay) leads
    # to the inbound service. None: mails carry no reply address. The local run uses
    # "localhost", its mail page sending replies to its own inbound service.
    reply_domain: str | None = None
    # (Empty counts as unset: the compose file passes it through either way.)
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 2525
    # STARTTLS is offered with a certificate and its key (PEM files); required when
    # inbound_require_tls (a public MX should).
    inbound_tls_cert: Path | None = None
    inbound_tls_key: Path | None = None
    inbound_require_tls: bool = False
    # A reply is a few lines: larger mail is refused (552), as are more than this many
    # messages a minute from one address of the sending side (451, to try later).
    inbound_max_bytes: int = 256 * 1024
    inbound_per_minute: int = 30
    # How long a reply waits for Temporal before the service says "try again later" (451).
    inbound_rpc_timeout_seconds: float = 10.0
    # A reply its domain did not sign (no DKIM aligned with From:), from a domain with no
    # DMARC policy, is taken (the token is the proof) and recorded as unsigned; False refuses it.
    inbound_accept_unsigned: bool = True
    # Behind a relay that checks DKIM and DMARC itself: its Authentication-Results header
    # (RFC 8601) is trusted from this authserv-id only. None: the service checks itself.
    inbound_authserv_id: str | None = None
    # The relay's addresses (JSON list of IPs or networks): its Authentication-Results count
    # only on connections from there (the service may be reached without it).
    inbound_relays: list[str] = Field(default_factory=list)

    @property
    def mail_task_queue(self) -> str:
        """The mail task queue: the project task queue's name, then "-mail"."""
        return f"{self.task_queue}-mail"

    @field_validator("reply_domain", "inbound_authserv_id")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value.strip().lower() or None if value else None

    # Webhooks: https to public addresses only; plain http to loopback when this says so (tests,
    # a receiver on this machine).
    webhooks_allow_loopback_http: bool = False
    webhook_timeout_seconds: float = 10.0
    # Console sign-in by e-mailed link: {"<e-mail address>": "<organisation id>"} (JSON).
    coordinator_emails: dict[str, str] = Field(default_factory=dict)

    # -- the archive (archive/): a project's record once Temporal has forgotten it --
    # "folder" keeps it under data_dir/archive (the local run's); "s3" in S3-compatible object
    # storage (MinIO, a cloud bucket).
    archive_store: Literal["folder", "s3"] = "folder"
    archive_dir: Path | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str = "alliance-archive"
    s3_prefix: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # A project's run goes on as a new run (its past events to the archive as one segment) once
    # this many domain events were recorded since the last segment: what a run carries, and
    # what one activity sends, stay far below Temporal's 2 MB payload limit.
    segment_after_events: int = 1000

    @field_validator(
        "smtp_username", "smtp_password", "s3_endpoint_url", "s3_access_key_id",
        "s3_secret_access_key", "temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca",
        "temporal_tls_server_name", "temporal_api_key", "worker_metrics_port", "otlp_endpoint",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # Compose passes an unset variable as "": no credential, not an empty one.
        return None if value == "" else value

    @field_validator("coordinator_emails")
    @classmethod
    def _lowercase_emails(cls, emails: dict[str, str]) -> dict[str, str]:
        return {address.strip().lower(): organisation for address, organisation in emails.items()}

    @field_validator("codec_keys")
    @classmethod
    def _usable_keys(cls, keys: dict[str, SecretStr]) -> dict[str, SecretStr]:
        from codec import decode_key

        for key_id, key in keys.items():
            try:
                decode_key(key.get_secret_value())
            except ValueError as e:
                raise ValueError(f"codec key {key_id!r}: {e}") from None
        return keys

    @model_validator(mode="after")
    def _client_certificate_whole(self) -> Settings:
        if bool(self.temporal_tls_cert) != bool(self.temporal_tls_key):
            raise ValueError(
                "ALLIANCE_TEMPORAL_TLS_CERT and ALLIANCE_TEMPORAL_TLS_KEY go together: the "
                "client certificate and its private key (PEM files)"
            )
        for name in ("temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(
                    f"ALLIANCE_{name.upper()}: no file at {path} (or not readable by this user)"
                )
        return self

    @model_validator(mode="after")
    def _addresses_follow_their_ports(self) -> Settings:
        # Moving a port moves the address printed and handed out, unless that is set too.
        defaults = {
            "api_url": f"http://localhost:{self.api_port}",
            "ui_url": f"http://localhost:{self.ui_port}",
            "codec_url": f"http://localhost:{self.codec_port}",
        }
        for name, url in defaults.items():
            if name not in self.model_fields_set:
                setattr(self, name, url)
        return self

    @property
    def directory_address(self) -> str:
        """The contact directory's database: the setting, or a SQLite file in data_dir."""
        if self.directory_url:
            return self.directory_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'directory.sqlite3'}"

    def plain_codec_keys(self) -> dict[str, str]:
        return {key_id: key.get_secret_value() for key_id, key in self.codec_keys.items()}

    @property
    def mail_dir(self) -> Path:
        """Where the local mail catcher keeps the messages it received."""
        return self.data_dir / "mail"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def archive_folder(self) -> Path:
        return self.archive_dir or self.data_dir / "archive"


def with_local_secrets(settings: Settings) -> Settings:
    """For the local run: a token secret, credentials and a codec key kept in data_dir, made on
    first run, so personal links keep working and histories stay readable across restarts.
    Explicit settings always win."""
    from codec import new_key, new_key_id

    path = settings.data_dir / "local-secrets.json"
    stored = json.loads(path.read_text("utf-8")) if path.exists() else {}
    made = {
        "token_secret": lambda: secrets.token_urlsafe(32),
        "coordinator_credentials": lambda: {f"coord-{secrets.token_urlsafe(18)}": "mda-lyon8"},
        "ops_credentials": lambda: [f"ops-{secrets.token_urlsafe(18)}"],
        # Added to a data directory made before encryption, the old secrets kept as they are.
        "codec_keys": lambda: {new_key_id(): new_key()},
    }
    missing = [name for name in made if name not in stored]
    if missing:
        stored.update({name: made[name]() for name in missing})
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2), encoding="utf-8")
        path.chmod(0o600)
    return settings.model_copy(
        update={
            "token_secret": settings.token_secret or SecretStr(stored["token_secret"]),
            "coordinator_credentials": settings.coordinator_credentials
            or stored["coordinator_credentials"],
            "ops_credentials": settings.ops_credentials or stored["ops_credentials"],
            "codec_keys": settings.codec_keys
            or {key_id: SecretStr(key) for key_id, key in stored["codec_keys"].items()},
        }
    )
