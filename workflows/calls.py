"""How the workflow calls an activity that nearly always succeeds at its first try (the
report, the closing and archive): at once first, then retried."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import FailureError

# Patches (workflow.patched): projects started on an earlier version replay as they ran.
ONE_CLOSING_ACTIVITY = "1.1-one-closing-activity"
# Messages, the report and the closing as local activities first (one marker event each).
AT_ONCE = "1.1-at-once"
# Projects launched from 1.2 run under rules 2 (domain/rules.py: the evaluation waits for the
# facilitator's conclusion); those launched before keep rules 1 for their whole life.
RULES_2 = "1.2-rules-2"
# Since 1.2 the ops view names the step (AllianceStep): histories recorded before set none.
STEP_ATTRIBUTE = "1.2-step-attribute"
# Projects launched since objections are judged run under rules 3 (a consent decision waits
# for the facilitator's judgement of each objection before it closes).
RULES_3 = "1.2-rules-3"
# Since 1.3 a project launched with a mail window holds its news for that long and tells each
# reader all of it in as few messages as it may (workflows/messages.py).
MAIL_WINDOW = "1.3-mail-window"
# Since 1.3 a project launched with a mail task queue sends all its mail from there (a mail
# worker), never from its own workflow task.
MAIL_QUEUE = "1.3-mail-queue"
PATCHES = (
    ONE_CLOSING_ACTIVITY, AT_ONCE, RULES_2, STEP_ATTRIBUTE, RULES_3, MAIL_WINDOW, MAIL_QUEUE,
)  # fmt: skip

# A report or an archive that cannot be written is retried until ops fix the cause (a store
# down, a full disk); the project waits, and nothing is lost.
REPORT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10)
)


async def at_once_or_retried(
    activity: Any,
    arg: Any,
    *,
    start_to_close_timeout: timedelta,
    retry_policy: RetryPolicy,
    summary: str,
) -> Any:
    """Since 1.1, an activity that nearly always succeeds at its first try (the report, the
    closing and archive) runs first as a local activity, recorded in one marker event
    instead of its three and the workflow task it wakes; failing that, as the activity
    Temporal retries. Both are idempotent, so a first try that half happened is harmless."""
    if workflow.patched(AT_ONCE):
        try:
            return await workflow.execute_local_activity_method(
                activity,
                arg,
                start_to_close_timeout=start_to_close_timeout,
                retry_policy=RetryPolicy(maximum_attempts=1),
                summary=summary,
            )
        except FailureError:  # a local activity's failure comes unwrapped, as it was raised
            pass
    return await workflow.execute_activity_method(
        activity,
        arg,
        start_to_close_timeout=start_to_close_timeout,
        retry_policy=retry_policy,
        summary=summary,
    )
