"""The bare baseline: the least Temporal workflow doing what an Alliance lifecycle does in
updates, with one no-op activity per answer. Nothing else: no domain, no notifications."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bare_noop")
async def bare_noop(seq: int) -> int:
    return seq


@workflow.defn(name="BareLifecycle")
class BareLifecycle:
    @workflow.init
    def __init__(self, expected_actions: int) -> None:
        self.expected = expected_actions
        self.actions = 0
        self.answers_to_ack = 0
        self.acked = 0

    @workflow.run
    async def run(self, expected_actions: int) -> int:
        while self.actions < self.expected or self.acked < self.answers_to_ack:
            await workflow.wait_condition(
                lambda: self.acked < self.answers_to_ack or self.actions >= self.expected
            )
            while self.acked < self.answers_to_ack:
                self.acked += 1
                await workflow.execute_activity(
                    bare_noop, self.acked, start_to_close_timeout=timedelta(seconds=30)
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.actions

    @workflow.update
    def act(self, kind: str) -> int:
        self.actions += 1
        if kind == "answer":
            self.answers_to_ack += 1
        return self.actions

    @act.validator
    def _validate_act(self, kind: str) -> None:
        if self.actions >= self.expected:
            raise ValueError("the lifecycle is complete")


# -- bare+mail: the same, with as much mail as Alliance sent --------------------------------

# Plain text to fill a message up to the mean size of Alliance's in the same run.
MAIL_TEXT = "Bonjour,\n\nUne nouvelle du projet, et le lien vers votre page.\n" * 2000


class BareMailer:
    """Plain messages over one reused SMTP connection, to the same mail catcher as Alliance's,
    reconnecting when it was closed."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._smtp = None
        self._lock = None

    @activity.defn(name="bare_mail")
    async def send(self, count: int, size: int) -> int:
        import asyncio

        import aiosmtplib

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            for n in range(count):
                if self._smtp is None or not self._smtp.is_connected:
                    self._smtp = aiosmtplib.SMTP(hostname=self.host, port=self.port)
                    await self._smtp.connect()
                head = (
                    f"From: bare@localhost\r\nTo: reader{n}@example.org\r\n"
                    "Subject: Une nouvelle du projet\r\n\r\n"
                )
                message = (head + MAIL_TEXT[: max(0, size - len(head))]).encode()
                await self._smtp.sendmail("bare@localhost", [f"reader{n}@example.org"], message)
        return count


@workflow.defn(name="BareMailLifecycle")
class BareMailLifecycle:
    """The bare lifecycle that also tells people: at each action (where Alliance dispatches its
    news), one activity sending that action's share of the messages Alliance sent per
    lifecycle in the same run."""

    @workflow.init
    def __init__(self, expected_actions: int, messages: int, size: int) -> None:
        self.expected = expected_actions
        self.messages = messages
        self.size = size
        self.actions = 0
        self.dispatched = 0

    def _share(self, k: int) -> int:
        return (k * self.messages) // self.expected - ((k - 1) * self.messages) // self.expected

    @workflow.run
    async def run(self, expected_actions: int, messages: int, size: int) -> int:
        while self.dispatched < self.expected:
            await workflow.wait_condition(lambda: self.dispatched < self.actions)
            while self.dispatched < self.actions:
                self.dispatched += 1
                count = self._share(self.dispatched)
                if count:
                    await workflow.execute_activity(
                        "bare_mail",
                        args=[count, self.size],
                        start_to_close_timeout=timedelta(seconds=60),
                    )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.actions

    @workflow.update
    def act(self, kind: str) -> int:
        self.actions += 1
        return self.actions

    @act.validator
    def _validate_act(self, kind: str) -> None:
        if self.actions >= self.expected:
            raise ValueError("the lifecycle is complete")
