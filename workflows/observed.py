"""What the workflow tells ops of the events it records: a few domain counters on the worker's
metrics endpoint, and a log line at each turn of the project. Both go through the SDK, which
neither counts nor logs again while a workflow replays its history, so they stay exact.
No personal data: ids, phases and outcomes only."""

from __future__ import annotations

from collections.abc import Iterable

from temporalio import workflow

from domain import events as ev


class Observed:
    def __init__(self) -> None:
        meter = workflow.metric_meter()
        self.actions = meter.create_counter(
            "alliance_partner_actions_recorded", "Partner actions recorded, by action"
        )
        self.answers = meter.create_counter(
            "alliance_answers_recorded", "Answers given in a decision round, by answer"
        )
        self.decisions = meter.create_counter(
            "alliance_decisions", "Decision rounds closed, by outcome"
        )
        self.failed = meter.create_counter(
            "alliance_notifications_failed",
            "Notifications not delivered to a participant (e-mail or webhook)",
        )

    def action(self, update_name: str) -> None:
        self.actions.add(1, {"action": update_name})

    def events(self, recorded: Iterable[ev.Event]) -> None:
        for event in recorded:
            data = event.data
            if isinstance(data, ev.AnswerGiven):
                self.answers.add(1, {"answer": data.kind.value})
            elif isinstance(data, ev.DecisionReached):
                self.decisions.add(1, {"outcome": data.outcome.value})
                workflow.logger.info(
                    "decision reached",
                    extra={"round": data.round, "outcome": data.outcome.value},
                )
            elif isinstance(data, ev.NotificationFailed):
                self.failed.add(max(1, len(data.recipients)))
                workflow.logger.warning(
                    "notification failed",
                    extra={"about_seq": data.about_seq, "recipients": len(data.recipients)},
                )
            elif isinstance(data, ev.PhaseOpened):
                workflow.logger.info(
                    "phase opened",
                    extra={"phase": data.phase.value, "round": data.round},
                )
            elif isinstance(data, ev.ProjectClosed):
                workflow.logger.info(
                    "project ended", extra={"phase": "closed", "outcome": data.outcome.value}
                )
            elif isinstance(data, ev.ProjectCancelled):
                # Not the reason: a coordinator's free text.
                workflow.logger.info("project ended", extra={"phase": "cancelled"})
