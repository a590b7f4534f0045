"""Record the workflow histories that the replay test keeps (tests/histories/).

    .venv/bin/python -m tests.workflows.record_histories

Run it when a new behaviour deserves a saved history: it records the histories that are not
there yet and never overwrites one. Since the first release (1.0.0) the saved histories are
frozen: a change that would replay one differently uses workflow.patched.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import temporal_client
from activities.notifications import OutboxAdapter
from domain import commands as cmd
from domain.models import AgreedCharter, Governance, Process
from domain.templates import parse
from process_templates.builtin import builtin, launched
from settings import Settings
from tests.helpers import (
    CONVERTER,
    REVIEWED,
    TEST_CODEC_KEYS,
    Driver,
    actor,
    make_spec,
    short_process,
)
from texts.charter import model as charter_model
from worker import build_mail_worker, build_worker
from workflows import search_attributes as sa

HISTORIES = Path(__file__).parent.parent / "histories"
PARTNERS = ["p1", "p2", "p3"]


async def objection_round_then_adopted(
    client: Client, task_queue: str, project_id: str = "history-objection"
) -> Driver:
    d = await Driver.start(client, make_spec(3, id=project_id), task_queue)
    await d.contribute_all(PARTNERS)
    proposal = await d.propose("p1")
    await d.act(
        cmd.AmendProposal(actor=actor("p2"), proposal_id=proposal, text="Ajouter un composteur"),
    )
    await d.act(
        cmd.EndorseProposal(actor=actor("p3"), proposal_id=proposal),
    )
    await d.plan([proposal])
    await d.answer("p1")
    await d.answer("p2", "object", "Le terrain est inondable")
    await d.answer("p3", "abstain")
    await d.plan([proposal], {"p2": "Bacs surélevés"})
    for pid in PARTNERS:
        await d.answer(pid)
    await d.act(
        cmd.StateOutcome(actor=actor("fac"), text="Adopté au 2e tour"),
    )
    await d.act(cmd.NoteProgress(actor=actor("p1"), text="Bacs posés"))
    await d.act(cmd.ClosePhase(actor=actor("fac")))
    indicators = [i.id for i in (await d.view()).adopted_plan.indicators]
    await d.assess_all(PARTNERS, indicators)
    if (await d.view()).phase_open:  # rules 2 (1.2): the evaluation waits for the conclusion
        await d.conclude()
    await d.handle.result()
    return d


async def adopted(client: Client, task_queue: str, project_id: str = "history-adopted") -> Driver:
    d = await Driver.start(client, make_spec(3, id=project_id), task_queue)
    await d.contribute_all(PARTNERS)
    await d.plan([await d.propose("p1")])
    for pid in PARTNERS:
        await d.answer(pid)
    await d.act(cmd.NoteProgress(actor=actor("p2"), text="Premiers bacs posés"))
    await d.act(cmd.ClosePhase(actor=actor("fac")))
    indicators = [i.id for i in (await d.view()).adopted_plan.indicators]
    await d.assess_all(PARTNERS, indicators)
    if (await d.view()).phase_open:  # rules 2 (1.2): the evaluation waits for the conclusion
        await d.conclude()
    await d.handle.result()
    return d


async def adopted_again(client: Client, task_queue: str) -> Driver:
    """The adopted story recorded again on 1.1, whose end is one activity."""
    return await adopted(client, task_queue, project_id="history-adopted-1-1")


async def adopted_at_once(client: Client, task_queue: str) -> Driver:
    """The adopted story on 1.1 telling its messages, its report and its closing at once
    (local activities: a marker each)."""
    return await adopted(client, task_queue, project_id="history-adopted-1-1-at-once")


async def objection_round_concluded(client: Client, task_queue: str) -> Driver:
    """The objection story on 1.2, under rules 2: once every partner has assessed, the
    facilitator is asked for the conclusion, which closes the evaluation (a patch marker at the
    launch)."""
    return await objection_round_then_adopted(client, task_queue, "history-objection-1-2")


async def call_for_projects(client: Client, task_queue: str) -> Driver:
    """1.2's templates: appel-a-projets, the local authority's budget approval objected to and
    looped back, approved in round 2, then the partners' majority; the step in AllianceStep
    (a patch marker)."""
    spec = make_spec(
        3, id="history-appel-a-projets", template=launched(builtin("appel-a-projets", 1))
    )
    d = await Driver.start(client, spec, task_queue)
    await d.contribute_all(PARTNERS)
    proposal = await d.propose("p1")
    await d.plan([proposal])
    await d.answer("p1", "object", "Le budget est trop lourd")  # p1 is the local authority
    await d.plan([proposal], {"p1": "Un seul jardin la première année"})
    await d.answer("p1")
    await d.answer("p1")
    await d.answer("p2")
    await d.answer("p3", "object", "Je préfère l'autre parcelle")
    await d.act(cmd.ClosePhase(actor=actor("fac")))
    indicators = [i.id for i in (await d.view()).adopted_plan.indicators]
    await d.assess_all(PARTNERS, indicators)
    await d.conclude()
    await d.handle.result()
    return d


async def consultation_with_a_pause(client: Client, task_queue: str) -> Driver:
    """1.2's templates: a diagnosis, a pause (a durable timer), then a decision on the text
    the facilitator writes."""
    template = parse(
        {
            "id": "consultation-pause",
            "name": {"fr": "Consultation avec une pause"},
            "steps": [
                {"id": "diagnosis", "name": {"fr": "Diagnostic"}, "kind": "diagnosis",
                 "duration": "P7D"},
                {"id": "conseil", "name": {"fr": "Conseil municipal"}, "kind": "wait",
                 "duration": "PT2S"},
                {"id": "vote", "name": {"fr": "Vote"}, "kind": "decision", "duration": "P7D",
                 "approvals": [{"id": "partners", "approvers": {"roles": ["partner"]}}]},
            ],
        }
    )  # fmt: skip
    spec = make_spec(2, id="history-consultation-pause", template=launched(template))
    d = await Driver.start(client, spec, task_queue)
    await d.contribute_all(["p1", "p2"])
    for _ in range(100):  # the pause ends by its timer
        if (await d.view()).step == "vote":
            break
        await asyncio.sleep(0.1)
    await d.act(cmd.SubmitPlan(actor=actor("fac"), summary="Ouvrir le jardin le samedi"))
    await d.answer("p1")
    await d.answer("p2")
    await d.handle.result()
    return d


async def alliance_with_a_charter(client: Client, task_queue: str) -> Driver:
    """1.2's alliance: co-construction version 2 opens on the partnership charter; version 1
    (decisions by majority) is objected to, version 2 answers the objection, every partner
    consents (the signatures); a term of the glossary is proposed and validated; a partner
    leaves during the decision, which goes on by the charter's rule; the cooperation
    questionnaire is answered; the facilitator concludes."""
    spec = make_spec(
        3, id="history-alliance-charter", template=launched(builtin("co-construction", 2))
    )
    d = await Driver.start(client, spec, task_queue)
    sections = charter_model("fr", spec.title, spec.territory)
    await d.act(cmd.PublishCharter(actor=actor("fac"), sections=sections,
                                   governance={"rule": "majority", "quorum": 0.6}))  # fmt: skip
    await d.act(
        cmd.NoteCharter(actor=actor("p1"), section="governance", wording=True,
                        text="Les décisions se prennent par consentement.")
    )  # fmt: skip
    await d.answer("p1", "object", "La majorité écrase les petites structures")
    await d.answer("p2")
    await d.answer("p3")
    await d.act(
        cmd.PublishCharter(
            actor=actor("fac"), sections=sections,
            governance={"rule": "consent", "quorum": 0.5, "joining": "consent"},
            changes=["Gouvernance : le consentement plutôt que la majorité"],
            objection_answers={"p1": "Nous décidons par consentement."},
        )
    )  # fmt: skip
    for pid in PARTNERS:
        await d.answer(pid)
    await d.contribute_all(PARTNERS)
    term = await d.act(
        cmd.ProposeTerm(actor=actor("p2"), term="Tiers-lieu", definition="Un lieu partagé")
    )
    definition = (await d.view()).glossary[0].definitions[0].id
    await d.act(
        cmd.ValidateTerm(actor=actor("fac"), term_id=term.item_id, definition_id=definition)
    )
    proposal = await d.propose("p1")
    await d.plan([proposal])
    await d.act(cmd.LeaveProject(actor=actor("p3"), reason="Notre association se dissout."))
    await d.answer("p1")
    await d.answer("p2")
    await d.act(cmd.ClosePhase(actor=actor("fac")))  # the implementation, done
    indicators = [i.id for i in (await d.view()).adopted_plan.indicators]
    await d.assess_all(["p1", "p2"], indicators)
    await d.act(cmd.AnswerCooperation(actor=actor("p1")))
    await d.conclude()
    await d.handle.result()
    return d


async def charter_agreed_then_amended(client: Client, task_queue: str) -> Driver:
    """1.2's charter agreed before the project (its step skipped) and amended later: a first
    amendment objected to (the charter in force stays), a second adopted by every partner
    while the diagnosis waits; an organisation proposed by a partner joins by the partners'
    consent and signs the charter in force; then the project runs to its conclusion."""
    agreed = AgreedCharter(
        agreed_on=date(2025, 3, 1),
        text="Les partenaires décident ensemble, par consentement.",
        governance=Governance(rule="consent", quorum=0.5, joining="consent"),
    )
    spec = make_spec(3, id="history-charter-agreed", charter_agreed=agreed,
                     template=launched(builtin("co-construction", 2)))  # fmt: skip
    d = await Driver.start(client, spec, task_queue)
    sections = charter_model("fr", spec.title, spec.territory)
    amendment = {"sections": sections, "answer_within": timedelta(days=10),
                 "governance": {"rule": "consent", "quorum": 0.5, "joining": "consent"},
                 "changes": ["Communication : chaque partenaire relit les communiqués"]}  # fmt: skip
    await d.act(cmd.AmendCharter(actor=actor("fac"), **amendment))
    await d.act(cmd.AnswerAmendment(actor=actor("p1"), kind="consent"))
    await d.act(cmd.AnswerAmendment(actor=actor("p2"), kind="object", reason="Trop lourd"))
    await d.act(cmd.AnswerAmendment(actor=actor("p3"), kind="consent"))
    await d.act(cmd.AmendCharter(actor=actor("fac"), **amendment))
    for pid in PARTNERS:
        await d.act(cmd.AnswerAmendment(actor=actor(pid), kind="consent"))
    newcomer = {"id": "p9", "organisation_name": "Centre social", "organisation_id": "cs",
                "organisation_kind": "association", "role": "partner"}  # fmt: skip
    await d.act(cmd.ProposeNewcomer(actor=actor("p1"), participant=newcomer))
    await d.act(cmd.AnswerNewcomer(actor=actor("p2"), newcomer_id="p9", kind="consent"))
    await d.act(cmd.AnswerNewcomer(actor=actor("p3"), newcomer_id="p9", kind="consent"))
    await d.act(cmd.ConsentToCharter(actor=actor("p9")))
    partners = [*PARTNERS, "p9"]
    await d.contribute_all(partners)
    proposal = await d.propose("p1")
    await d.plan([proposal])
    for pid in partners:
        await d.answer(pid)
    await d.act(cmd.ClosePhase(actor=actor("fac")))  # the implementation, done
    indicators = [i.id for i in (await d.view()).adopted_plan.indicators]
    await d.assess_all(partners, indicators)
    await d.conclude()
    await d.handle.result()
    return d


async def objections_weighed(client: Client, task_queue: str) -> Driver:
    """1.2's rules 3: under consent, round 1's objections wait for the facilitator's
    judgements (a concern, a valid one: not adopted); round 2's plan answers the valid one,
    an objection judged a concern lets it pass; the concern is a point for the evaluation."""
    d = await Driver.start(client, make_spec(3, id="history-objections-weighed"), task_queue)
    await d.contribute_all(PARTNERS)
    proposal = await d.propose("p1")
    await d.plan([proposal])
    await d.answer("p1", "object", "Un risque d'usure")
    await d.answer("p2", "object", "Le terrain est pollué")
    await d.answer("p3")
    await d.judge("p1", "concern", reason="Une usure à suivre")
    await d.judge("p2", "valid", reason="Un tort avéré")
    await d.plan([proposal], {"p2": "Des bacs hors-sol"})
    await d.answer("p1", "object", "L'arrosage l'été")
    await d.answer("p2")
    await d.answer("p3")
    await d.judge("p1", "concern", reason="À vérifier à l'évaluation")
    await d.act(cmd.ClosePhase(actor=actor("fac")))  # the implementation, done
    indicators = [i.id for i in (await d.view()).adopted_plan.indicators]
    await d.assess_all(PARTNERS, indicators)
    await d.conclude()
    await d.handle.result()
    return d


async def until_review_opens(d: Driver) -> None:
    for _ in range(100):  # the review opens by its timer
        view = await d.view()
        if view.phase == "review" and not view.review_waiting:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the review never opened")


async def decision_reviewed(client: Client, task_queue: str) -> Driver:
    """1.2's review step: a decision reviewed a few seconds after its adoption (its plan's
    review_on), every participant told; amended (back to co-design, round 2); the amended
    plan adopted, its review brought forward by the outcome, then kept: the project closes."""
    spec = make_spec(3, id="history-decision-reviewed", template=launched(parse(REVIEWED)))
    d = await Driver.start(client, spec, task_queue)
    proposal = await d.propose("p1")
    soon = datetime.now(UTC) + timedelta(seconds=2)
    await d.act(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[proposal],
                               summary="Des bacs arrosés le samedi", review_on=soon))  # fmt: skip
    for pid in PARTNERS:
        await d.answer(pid)
    await until_review_opens(d)
    await d.act(cmd.AnswerReview(actor=actor("p1"), choice="amend", reason="Le samedi ne va plus"))
    await d.act(cmd.AnswerReview(actor=actor("p2"), choice="amend", reason="Aussi le mercredi"))
    await d.act(cmd.AnswerReview(actor=actor("p3"), choice="keep"))
    await d.act(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[proposal],
                               summary="Des bacs arrosés le mercredi et le samedi"))  # fmt: skip
    for pid in PARTNERS:
        await d.answer(pid)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    await d.act(cmd.StateOutcome(actor=actor("fac"), text="Deux jours d'arrosage",
                                 review_on=soon))  # fmt: skip
    await until_review_opens(d)
    for pid in PARTNERS:
        await d.act(cmd.AnswerReview(actor=actor(pid), choice="keep"))
    await d.handle.result()
    return d


async def decided_then_cancelled(d: Driver) -> Driver:
    """A plan adopted by every partner, then the project cancelled: its mail through the end."""
    await d.plan([await d.propose("p1")])
    for pid in PARTNERS:
        await d.answer(pid)
    await d.act(cmd.Cancel(actor=actor("coord"), reason="Financement retiré"))
    await d.handle.result()
    return d


async def told_together(client: Client, task_queue: str) -> Driver:
    """1.3: a project launched with a mail window holds its news, then tells it in one batch
    (a patch marker, a timer); the diagnosis opened and closed within the window is not told;
    the cancellation sends what it held at once."""
    d = await Driver.start(
        client, make_spec(3, id="history-mail-window"), task_queue, mail_window_seconds=2
    )
    await d.contribute_all(PARTNERS)
    await asyncio.sleep(3)  # the window ends: its news goes
    return await decided_then_cancelled(d)


async def mail_from_a_mail_worker(client: Client, task_queue: str) -> Driver:
    """1.3: a project launched with a mail worker (a patch marker): each batch of its mail a
    regular activity on the mail task queue, none sent from its workflow task."""
    d = await Driver.start(
        client,
        make_spec(3, id="history-mail-queue"),
        task_queue,
        mail_task_queue=f"{task_queue}-mail",
    )
    await d.contribute_all(PARTNERS)
    return await decided_then_cancelled(d)


async def not_adopted_after_max_rounds(client: Client, task_queue: str) -> Driver:
    spec = make_spec(2, Process(max_rounds=2), id="history-not-adopted")
    d = await Driver.start(client, spec, task_queue)
    await d.contribute_all(["p1", "p2"])
    proposal = await d.propose("p1")
    await d.plan([proposal])
    await d.answer("p1", "object", "Trop cher")
    await d.answer("p2")
    await d.plan([proposal], {"p1": "Un financement de la Métropole"})
    await d.answer("p1", "object", "Toujours trop cher")
    await d.answer("p2")
    await d.handle.result()
    return d


async def no_quorum(client: Client, task_queue: str) -> Driver:
    d = await Driver.start(client, make_spec(3, id="history-no-quorum"), task_queue)
    await d.contribute_all(PARTNERS)
    await d.plan([await d.propose("p1")])
    await d.answer("p1")  # 1 of 3: the facilitator closes without quorum
    await d.act(cmd.ClosePhase(actor=actor("fac")))
    await d.act(cmd.Cancel(actor=actor("coord"), reason="Trop peu de partenaires"))
    await d.handle.result()
    return d


async def cancelled(client: Client, task_queue: str) -> Driver:
    d = await Driver.start(client, make_spec(2, id="history-cancelled"), task_queue)
    await d.contribute_all(["p1"])
    await d.act(cmd.Cancel(actor=actor("coord"), reason="Le financement est retiré"))
    await d.handle.result()
    return d


async def continued_as_new(client: Client, task_queue: str) -> Driver:
    d = await Driver.start(
        client,
        make_spec(3, id="history-can"),
        task_queue,
        continue_as_new_after_events=25,
    )
    first_run = (await d.handle.describe()).run_id
    await d.contribute_all(PARTNERS)
    for n in range(3):
        await d.act(
            cmd.SubmitProposal(actor=actor("p2"), title=f"Proposition {n}", description="d"),
        )
    for _ in range(100):
        if (await d.handle.describe()).run_id != first_run:
            break
        await asyncio.sleep(0.1)
    # The first run, which ends in continue-as-new.
    return Driver(client, client.get_workflow_handle(d.handle.id, run_id=first_run))


async def deadlines(env: WorkflowEnvironment, client: Client, task_queue: str) -> Driver:
    d = await Driver.start(
        client, make_spec(3, short_process(), id="history-deadlines"), task_queue
    )
    await d.contribute_all(["p1"])
    await env.sleep(timedelta(days=9))
    await d.act(
        cmd.ExtendDeadline(
            actor=actor("fac"),
            deadline=(await d.view()).deadline + timedelta(days=3),
            reason="vacances",
        ),
    )
    await env.sleep(timedelta(days=5))  # reminders, escalation, close
    await env.sleep(timedelta(days=11))  # co_design deadline without a plan
    await d.act(cmd.Cancel(actor=actor("coord"), reason="Projet suspendu"))
    await d.handle.result()
    return d


async def notification_failed(client: Client, settings: Settings) -> Driver:
    """A partner's tool answers 404 to its webhook: the failure is recorded, counted in the
    search attribute ops filter on, and the project is cancelled. Launched through the API,
    which keeps the webhook's address in the contact directory."""
    import httpx
    from aiohttp import web

    from api.app import create_app
    from tests.api_helpers import ApiProject, project_body
    from tests.helpers import free_port

    port = free_port()
    tool = web.Application()
    tool.router.add_post("/alliance", lambda _: web.Response(status=404))
    runner = web.AppRunner(tool)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    body = project_body(2)
    app = create_app(
        settings.model_copy(
            update={
                "token_secret": SecretStr("record-histories"),
                "coordinator_credentials": {"cred-mda-lyon8": "mda-lyon8"},
            }
        ),
        client=client,
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://alliance.test"
        ) as http:
            project = await ApiProject.launch(
                http, body, {"Authorization": "Bearer cred-mda-lyon8"}
            )
            d = Driver(client, client.get_workflow_handle(f"project-{project.id}"))
            hook = {"webhook_url": f"http://127.0.0.1:{port}/alliance"}
            await project.ok("PATCH", "/participants/me", "p1", hook)
            # Everyone contributed: the diagnosis closes, and its news reaches p1's tool.
            for pid in ("p1", "p2"):
                await project.ok(
                    "POST", "/contributions", pid, {"kind": "need", "text": "Un local"}
                )
            for _ in range(200):
                if "notification_failed" in await d.types():
                    break
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("no notification_failed recorded")
            await d.act(cmd.Cancel(actor=actor("coord"), reason="Essai terminé"))
            await d.handle.result()
        await app.state.gateway.close()
    finally:
        await runner.cleanup()
    return d


async def save(d: Driver, name: str) -> None:
    history = await d.handle.fetch_history()
    path = HISTORIES / f"{name}.json"
    if path.exists():
        raise SystemExit(f"{path} exists: saved histories are never re-recorded")
    path.write_text(history.to_json(), encoding="utf-8")
    print(f"saved {path.name}: {len(history.events)} events")


def missing(name: str) -> bool:
    return not (HISTORIES / f"{name}.json").exists()


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            task_queue="record-histories",
            codec_keys={k: SecretStr(v) for k, v in TEST_CODEC_KEYS.items()},
            notifications="outbox",
            webhooks_allow_loopback_http=True,
        )
        async with (
            await WorkflowEnvironment.start_local(
                data_converter=CONVERTER,
                dev_server_existing_path=temporal_client.temporal_binary("temporal"),
                search_attributes=list(sa.ALL),
            ) as env,
            build_worker(env.client, settings),
        ):
            for record, name in (
                (adopted, "adopted"),
                (objection_round_then_adopted, "objection_round_adopted"),
                (not_adopted_after_max_rounds, "not_adopted_after_max_rounds"),
                (no_quorum, "no_quorum_then_cancelled"),
                (cancelled, "cancelled"),
                (continued_as_new, "continued_as_new"),
                # 1.1: the closing date and the archive in one activity (a patch marker).
                (adopted_again, "adopted_one_closing_activity"),
                # 1.1: messages, the report and the closing at once (local activities).
                (adopted_at_once, "adopted_at_once"),
                # 1.2: rules 2, the facilitator's conclusion closes the evaluation.
                (objection_round_concluded, "objection_round_concluded"),
                # 1.2: process templates, the step in AllianceStep.
                (call_for_projects, "call_for_projects"),
                (consultation_with_a_pause, "consultation_with_a_pause"),
                # 1.2: the alliance: a charter, the glossary, a partner leaving, the
                # cooperation questionnaire.
                (alliance_with_a_charter, "alliance_with_a_charter"),
                # 1.2: a charter agreed before the project, amended later, a newcomer.
                (charter_agreed_then_amended, "charter_agreed_then_amended"),
                # 1.2: rules 3, objections weighed under consent.
                (objections_weighed, "objections_weighed"),
                # 1.2: a decision reviewed, amended, adopted again and kept.
                (decision_reviewed, "decision_reviewed"),
                # 1.3: news held for a mail window and told together.
                (told_together, "mail_window"),
            ):
                if missing(name):
                    await save(await record(env.client, settings.task_queue), name)
            if missing("mail_queue"):
                # 1.3: the mail from a mail worker, on the mail task queue.
                mail_settings = settings.model_copy(update={"mail_worker": True})
                async with build_mail_worker(
                    env.client, mail_settings, notifier=OutboxAdapter(settings.outbox_dir)
                ):
                    await save(
                        await mail_from_a_mail_worker(env.client, settings.task_queue),
                        "mail_queue",
                    )
            if missing("notification_failed_cancelled"):
                await save(
                    await notification_failed(env.client, settings),
                    "notification_failed_cancelled",
                )
            if missing("notification_failed_at_once"):
                # 1.1: the refusal comes back from the batch told at once.
                await save(
                    await notification_failed(env.client, settings),
                    "notification_failed_at_once",
                )
        async with await WorkflowEnvironment.start_time_skipping(
            data_converter=CONVERTER,
            test_server_existing_path=temporal_client.temporal_binary("temporal-test-server"),
        ) as env:
            from tests.conftest import register_search_attributes

            await register_search_attributes(env.client)
            if missing("deadlines_extension_cancel"):
                async with build_worker(env.client, settings):
                    await save(
                        await deadlines(env, env.client, settings.task_queue),
                        "deadlines_extension_cancel",
                    )


if __name__ == "__main__":
    asyncio.run(main())
