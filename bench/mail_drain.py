"""How fast the mail path drains (issue 29): messages per second from one worker process to the
local mail catcher (in its own process, as `bench/run.py` runs it), and what bounds it.

    .venv/bin/python bench/mail_drain.py            # 400 batches, 8 at once
    .venv/bin/python bench/mail_drain.py --batches 1000 --concurrency 16

Each batch is one project's news of a mail window for a coordinator, a facilitator and five
partners, through the worker's own code (`notify_now` of `NotificationActivities`, the e-mail
adapter with its connection pool): half of them the launch (the invitation with the diagnosis
open: one message each), half a decision opening (the plan with the co-design closed, then
the decision: two messages each). Three runs: the whole path; the same without SMTP (the
messages composed and flattened, not sent: the composing's share); SMTP alone (the same bytes
sent again: the transactions' share). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import ActivityEnvironment

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from activities.mail.compose import Sender, wire_bytes  # noqa: E402
from activities.mail.smtp import MailAdapter, SmtpServer  # noqa: E402
from activities.notifications import (  # noqa: E402
    Address,
    Notification,
    NotificationActivities,
    NotificationBatch,
    Recipient,
)
from bench.run import free_port  # noqa: E402
from domain.models import Language, Role  # noqa: E402
from texts.links import TokenSigner, UnsubscribeSigner  # noqa: E402

PEOPLE = [("coord", Role.coordinator), ("fac", Role.facilitator)] + [
    (f"p{n}", Role.partner) for n in range(1, 6)
]
DEADLINE = (datetime.now(UTC) + timedelta(days=30)).isoformat()


def batch_of(n: int) -> NotificationBatch:
    project = f"drain{n}"
    partners = ",".join(pid for pid, role in PEOPLE if role == Role.partner)

    def notice(seq: int, kind: str, **facts: str) -> Notification:
        return Notification(
            key=f"project-{project}/{seq}/{kind}",
            project_id=project,
            project_title=f"Jardins partagés {n}",
            kind=kind,
            event_seq=seq,
            at=datetime.now(UTC),
            to=[pid for pid, _ in PEOPLE],
            facts=facts,
        )

    if n % 2 == 0:
        news = [
            notice(1, "project_launched", territory="Lyon 8e"),
            notice(2, "phase_opened", phase="diagnosis", round="1", deadline=DEADLINE,
                   expected=partners),
        ]  # fmt: skip
    else:
        news = [
            notice(9, "plan_submitted", round="1", summary="Des bacs rue Garon"),
            notice(10, "phase_closed", phase="co_design", round="1", cause="plan_submitted",
                   closed=datetime.now(UTC).isoformat()),
            notice(11, "phase_opened", phase="decision", round="1", deadline=DEADLINE,
                   expected=partners, summary="Des bacs rue Garon"),
        ]  # fmt: skip
    people = [
        Recipient(participant_id=pid, organisation_name=f"Organisation {pid}", role=role,
                  language=Language.en if pid == "fac" else Language.fr,
                  time_zone="Europe/Paris", token_version=1)
        for pid, role in PEOPLE
    ]  # fmt: skip
    return NotificationBatch(notifications=news, people=people)


async def book(project_id: str) -> dict[str, Address]:
    return {
        pid: Address(email=f"{pid}@{project_id}.example", person_name=f"Personne {pid}")
        for pid, _ in PEOPLE
    }


class Composed(MailAdapter):
    """Composes and flattens every message, sends none: the composing's share."""

    async def send(self, message, to: str) -> None:  # noqa: ANN001
        wire_bytes(message)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drain(adapter: MailAdapter, batches: int, concurrency: int) -> tuple[int, float]:
    activities = NotificationActivities(adapter, book)
    gate = asyncio.Semaphore(concurrency)
    sent = 0

    async def one(n: int) -> None:
        nonlocal sent
        async with gate:
            deliveries = await ActivityEnvironment().run(activities.notify_now, batch_of(n))
            assert not any(d.pending or d.failed for d in deliveries), deliveries
            sent += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(batches)))
    return sent, time.perf_counter() - began


async def smtp_only(port: int, payloads: list[bytes], concurrency: int) -> float:
    """The same bytes again over the pool: SMTP's own share."""
    adapter = MailAdapter(SmtpServer("127.0.0.1", port), SENDER, TokenSigner("s"))
    gate = asyncio.Semaphore(concurrency)
    chunk = max(1, len(payloads) // (concurrency * 4))

    async def some(part: list[bytes]) -> None:
        async with gate, adapter.batch():
            from activities.mail.smtp import _connection

            connection = _connection.get()
            assert connection is not None
            smtp = await connection.connected()
            for payload in part:
                await smtp.sendmail(SENDER.email, ["x@example.org"], payload)

    began = time.perf_counter()
    await asyncio.gather(*(some(payloads[i : i + chunk]) for i in range(0, len(payloads), chunk)))
    elapsed = time.perf_counter() - began
    await adapter.pool.close()
    return elapsed


SENDER = Sender("Alliance <alliance@bench.example>", "https://alliance.example.org")


class Keeping(MailAdapter):
    """Sends, and keeps each message's bytes (for the SMTP-only run)."""

    def __init__(self, *args, **kw) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kw)
        self.payloads: list[bytes] = []

    async def send(self, message, to: str) -> None:  # noqa: ANN001
        self.payloads.append(wire_bytes(message))
        await super().send(message, to)


async def main(args: argparse.Namespace) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="alliance-drain-"))
    port = free_port()
    catcher = subprocess.Popen(
        [sys.executable, "-m", "activities.mail.catcher", str(folder), str(port), "--count-only"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert catcher.stdout is not None
        while "mail catcher on" not in catcher.stdout.readline():
            pass
        server = SmtpServer("127.0.0.1", port)
        signers = (TokenSigner("bench"), UnsubscribeSigner("bench"))
        whole = Keeping(server, SENDER, *signers, pool_size=args.concurrency)
        cpu0, catcher0 = time.process_time(), cpu_seconds(catcher.pid)
        batches, seconds = await drain(whole, args.batches, args.concurrency)
        cpu1, catcher1 = time.process_time(), cpu_seconds(catcher.pid)
        messages = len(whole.payloads)
        await whole.pool.close()

        composed = Composed(server, SENDER, *signers)
        cpu2 = time.process_time()
        _, compose_seconds = await drain(composed, args.batches, args.concurrency)
        cpu3 = time.process_time()

        cpu4, catcher4 = time.process_time(), cpu_seconds(catcher.pid)
        smtp_seconds = await smtp_only(port, whole.payloads, args.concurrency)
        cpu5, catcher5 = time.process_time(), cpu_seconds(catcher.pid)
    finally:
        catcher.terminate()
        catcher.wait()
    per = lambda value: round(value * 1000 / messages, 3)  # noqa: E731 - ms per message
    return {
        "batches": batches,
        "messages": messages,
        "mean_message_bytes": round(sum(map(len, whole.payloads)) / messages),
        "concurrency": args.concurrency,
        "messages_per_s": round(messages / seconds, 1),
        "compose_only_messages_per_s": round(messages / compose_seconds, 1),
        "smtp_only_messages_per_s": round(messages / smtp_seconds, 1),
        "cpu_ms_per_message": {
            "worker": per(cpu1 - cpu0),
            "catcher": per(catcher1 - catcher0),
            "worker_composing": per(cpu3 - cpu2),
            "worker_smtp_only": per(cpu5 - cpu4),
            "catcher_smtp_only": per(catcher5 - catcher4),
        },
        "cores": os.cpu_count(),
        "date": datetime.now().date().isoformat(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
