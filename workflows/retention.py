"""The retention job: run by a Temporal Schedule (daily), it erases the contact details of
projects closed longer ago than the retention setting. One activity; no personal data in its
input, result or logs."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities, RetentionDone, RetentionRun

SCHEDULE_ID = "alliance-retention"


@workflow.defn
class RetentionWorkflow:
    @workflow.run
    async def run(self, run: RetentionRun) -> RetentionDone:
        return await workflow.execute_activity_method(
            RetentionActivities.erase_expired_contacts,
            run,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=10)),
            summary="erase the contacts of projects past their retention",
        )
