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
