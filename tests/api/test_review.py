"""Decisions reviewed, as the issue's users run it over HTTP, with a real worker stopped and
started again: a decision whose review date is a few seconds ahead opens its review step once
the worker is back, every participant told; "amend" returns to co-design with the plan in
force as the first draft; AllianceDeadline holds the review date meanwhile."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.api.test_worker_down import stoppable, wait_until  # noqa: F401 (a fixture)
from tests.api_helpers import COORD, ApiProject, project_body
from tests.helpers import REVIEWED
from worker import build_worker
from workflows import search_attributes as sa

PARTNERS = ["p1", "p2", "p3"]


async def test_a_review_date_passed_while_the_worker_was_down_opens_the_review_and_amend_returns_to_co_design(  # noqa: E501
    stoppable,  # noqa: F811
):
    http, harness = stoppable
    async with build_worker(harness.client, harness.settings):
        created = await http.post("/templates", json=REVIEWED, headers=COORD)
        assert created.status_code == 201, created.text
        project = await ApiProject.launch(http, project_body(3, template={"id": "jardins-revus"}))
        proposal = (
            await project.ok("POST", "/proposals", "p1",
                             {"title": "Jardin rue Garon", "description": "Des bacs partagés"})
        )["item_id"]  # fmt: skip
        past = await project.call(
            "POST", "/plan", "fac",
            {"proposal_ids": [proposal], "summary": "Des bacs",
             "review_on": "2020-01-01T09:00:00+01:00"},
        )  # fmt: skip
        assert past.status_code == 409 and past.json()["code"] == "review_date_past"
        review_on = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
        await project.ok(
            "POST", "/plan", "fac",
            {"proposal_ids": [proposal], "summary": "Des bacs partagés, arrosés le samedi",
             "review_on": review_on.isoformat()},
        )  # fmt: skip
        for pid in PARTNERS:
            await project.ok("PUT", "/answer", pid, {"kind": "consent"})
        view = await project.view()
        assert (view["phase"], view["review_waiting"], view["outcome"]) == ("review", True,
                                                                           "adopted")  # fmt: skip
        assert datetime.fromisoformat(view["deadline"]) == review_on
        assert view["report"] is None  # a project with a review to come is not closed
        early = await project.call("PUT", "/review/answer", "p1", {"choice": "keep"})
        assert early.status_code == 409 and early.json()["code"] == "review_not_open"
        described = await harness.client.get_workflow_handle(f"project-{project.id}").describe()
        assert described.typed_search_attributes.get(sa.DEADLINE) == review_on.replace(second=0)

    # The worker is down when the review date comes.
    await asyncio.sleep(max(0.0, (review_on - datetime.now(UTC)).total_seconds()) + 1)

    async with build_worker(harness.client, harness.settings):

        async def opened() -> bool:
            view = await project.view()
            return view["phase"] == "review" and not view["review_waiting"]

        await wait_until(opened, seconds=20)
        view = await project.view()
        assert sorted(view["pending"]) == PARTNERS
        events = (await project.ok("GET", "/events?limit=1000", "coordinator-credential"))["events"]
        types = [e["data"]["type"] for e in events]
        assert types.count("review_notice_sent") == 1 and types[-1] == "phase_opened"

        no_reason = await project.call("PUT", "/review/answer", "p1", {"choice": "amend"})
        assert no_reason.status_code == 409 and no_reason.json()["code"] == "reason_required"
        observer = await project.call("PUT", "/review/answer", "obs", {"choice": "keep"})
        assert observer.status_code == 403
        await project.ok("PUT", "/review/answer", "p1",
                         {"choice": "amend", "reason": "Le samedi ne convient plus"})  # fmt: skip
        await project.ok("PUT", "/review/answer", "p2",
                         {"choice": "amend", "reason": "Arroser aussi le mercredi"})  # fmt: skip
        result = await project.ok("PUT", "/review/answer", "p3", {"choice": "keep"})
        assert (result["phase"], result["round"]) == ("co_design", 2)
        view = await project.view()
        (reviewed,) = view["reviews"]
        assert reviewed["outcome"] == "amend"
        assert reviewed["counts"] == {"keep": 1, "amend": 2, "end": 0}
        assert view["draft_plan"]["summary"] == "Des bacs partagés, arrosés le samedi"
        # The plan adopted before stays in force while it is amended.
        assert view["outcome"] == "adopted"
        assert view["adopted_plan"]["summary"] == "Des bacs partagés, arrosés le samedi"
