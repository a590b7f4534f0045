"""No one's contact details in Temporal: a whole project through the API (launch, invitation,
replacement, changed addresses and webhook, decision, evaluation, report) leaves none in the
history the server stores, encrypted or decoded; the coordinator still reads them, joined
from the contact directory."""

from __future__ import annotations

import json

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

import temporal_client
from tests.api_helpers import ApiProject, project_body
from tests.helpers import (
    TEST_CODEC_KEYS,
    as_stored,
    clear_payloads,
    payloads_in,
    shown_history,
)

SECRETS = [
    "jeanne.riviere@example.org",
    "Jeanne Rivière",
    "localhost:9/hooks-p2",
    "hugo@example.org",
    "Hugo Martin",
    "nadia@example.org",
    "Nadia Benali",
    "p1-new@example.org",
]


async def test_a_whole_project_leaves_no_personal_data_in_temporal(http_factory, dev):
    # A webhook on this machine (a partner's tool), allowed in plain http for the test.
    http = http_factory(webhooks_allow_loopback_http=True)
    body = project_body(3, process={"action": {"duration": "PT0S"}})  # straight to evaluation
    body["participants"][3].update(person_name="Jeanne Rivière", email="jeanne.riviere@example.org")
    project = await ApiProject.launch(http, body)
    coordinator = "coordinator-credential"
    await project.ok(
        "POST",
        "/participants",
        coordinator,
        {
            "organisation_name": "Université Lyon 2",
            "organisation_id": "univ",
            "role": "observer",
            "person_name": "Nadia Benali",
            "email": "nadia@example.org",
        },
    )
    replaced = await project.ok(
        "POST",
        "/participants/p3/replacement",
        coordinator,
        {
            "replacement": {
                "organisation_name": "Collectif des habitants",
                "organisation_id": "collectif",
                "role": "partner",
                "person_name": "Hugo Martin",
                "email": "hugo@example.org",
            }
        },
    )
    newcomer_id = replaced["participant"]["id"]
    project.tokens[newcomer_id] = replaced["participant"]["token"]
    await project.ok(
        "PATCH", "/participants/me", "p2", {"webhook_url": "http://localhost:9/hooks-p2"}
    )
    await project.ok("PATCH", "/participants/me", "p1", {"email": "p1-new@example.org"})
    # The same address twice is still refused, by the directory now.
    taken = await project.call("PATCH", "/participants/me", "p2", {"email": "HUGO@example.org"})
    assert taken.status_code == 409 and taken.json()["code"] == "same_email"

    partners = ["p1", "p2", newcomer_id]
    proposal = await project.to_decision(partners)
    for pid in partners:
        await project.ok("PUT", "/answer", pid, {"kind": "consent"})
    for pid in partners:
        await project.ok(
            "POST",
            "/assessments",
            pid,
            {"scores": [{"indicator_id": f"{proposal}.i1", "score": 4}]},
        )
    await project.ok("POST", "/outcome", "fac", {"text": "Conclusion : les jardins vivent."})
    await dev.client.get_workflow_handle(temporal_client.workflow_id(project.id)).result()

    # What the server stores, as the CLI shows it: every payload encrypted...
    shown = shown_history(
        dev.client.service_client.config.target_host, temporal_client.workflow_id(project.id)
    )
    history = json.loads(shown)
    assert not clear_payloads(history)
    # ...and, decoded with the keys, still no one's name, address or webhook.
    codec = temporal_client.data_converter(TEST_CODEC_KEYS).payload_codec
    decoded = await codec.decode(
        [json_format.ParseDict(p, Payload()) for _, p in payloads_in(history)]
    )
    readable = shown.encode() + b"".join(as_stored(history)) + b"".join(p.data for p in decoded)
    readable_text = readable.decode("utf-8", "replace")
    assert "Jardin rue Garon" in readable_text  # the story is there
    for secret in SECRETS:
        assert secret not in readable_text, secret
        assert json.dumps(secret)[1:-1] not in readable_text, secret  # nor JSON-escaped

    # The notification activity found each address in the directory itself (the outbox says
    # which channel it would use, never the address).
    sent = dev.outbox.read(project.id)
    channels = {(line["to"], line["channel"]) for line in sent}
    assert ("p1", "email") in channels and ("fac", "page") in channels
    assert "example.org" not in json.dumps(sent)

    # The coordinator still reads them all, joined from the directory.
    people = {p["id"]: p for p in await project.ok("GET", "/participants", coordinator)}
    assert people["p1"]["email"] == "p1-new@example.org"
    assert people["p2"]["webhook_url"] == "http://localhost:9/hooks-p2"
    newcomer = next(p for p in people.values() if p["organisation_id"] == "collectif")
    assert newcomer["person_name"] == "Hugo Martin" and newcomer["id"].startswith("part-")
    view = await project.view()
    names = {p["id"]: p["person_name"] for p in view["participants"]}
    assert names["p1"] == "Jeanne Rivière"
    # Partners read names, never addresses.
    partner_view = json.dumps(await project.view("p2"), ensure_ascii=False)
    assert "Jeanne Rivière" in partner_view and "@example.org" not in partner_view


async def test_a_person_downloads_exactly_their_own_data(http):
    body = project_body(2)
    body["participants"][3].update(person_name="Jeanne Rivière", email="jeanne@example.org")
    project = await ApiProject.launch(http, body)
    await project.ok("POST", "/contributions", "p1", {"kind": "need", "text": "Un local"})
    await project.ok("POST", "/contributions", "p2", {"kind": "resource", "text": "Des bacs"})
    await project.ok("PATCH", "/participants/me", "p1", {"time_zone": "America/Cayenne"})

    mine = await project.ok("GET", "/participants/me/data", "p1")
    assert mine["contact_directory"]["email"] == "jeanne@example.org"
    assert mine["participant"]["person_name"] == "Jeanne Rivière"
    assert mine["participant"]["time_zone"] == "America/Cayenne"
    kinds = [e["data"]["type"] for e in mine["events"]]
    assert kinds == ["project_launched", "contribution_added", "participant_updated"]
    text = json.dumps(mine, ensure_ascii=False)
    # Nothing of anyone else: not p2's text, address, nor the other participants at launch.
    assert "Des bacs" not in text and "p2@example.org" not in text
    assert "Métropole" not in text and '"p2"' not in text
    # The coordinator answers a request made to them the same way; others may not.
    assert await project.ok("GET", "/participants/p1/data", "coordinator-credential") == mine
    refused = await project.call("GET", "/participants/p1/data", "p2")
    assert refused.status_code == 403


async def test_erasure_leaves_nothing_of_the_person_and_the_project_still_replays(http, dev):
    body = project_body(2, process={"action": {"duration": "PT0S"}})
    body["participants"][3].update(person_name="Jeanne Rivière", email="jeanne@example.org")
    project = await ApiProject.launch(http, body)
    await project.ok("POST", "/contributions", "p1", {"kind": "need", "text": "Mon jardin à moi"})
    await project.ok("POST", "/contributions", "p2", {"kind": "resource", "text": "Un local"})
    jeanne = await project.ok(
        "POST",
        "/proposals",
        "p1",
        {
            "title": "Le jardin de Jeanne",
            "description": "Chez moi",
            "indicators": [{"name": "Bacs"}],
        },
    )
    # A partner cannot erase anyone; the coordinator can, once (again: unchanged).
    refused = await project.call("POST", "/participants/p1/erasure", "p2", {"redact_texts": True})
    assert refused.status_code == 403
    erased = await project.ok(
        "POST", "/participants/p1/erasure", "coordinator-credential", {"redact_texts": True}
    )
    assert erased["texts_redacted"] and erased["removed_from_project"]
    again = await project.ok(
        "POST", "/participants/p1/erasure", "coordinator-credential", {"redact_texts": True}
    )
    assert again["result"]["unchanged"]
    # The project goes on to its report without her.
    ours = await project.ok(
        "POST",
        "/proposals",
        "p2",
        {
            "title": "Jardin partagé",
            "description": "Rue Garon",
            "indicators": [{"name": "Familles"}],
        },
    )
    await project.ok(
        "POST",
        "/plan",
        "fac",
        {"proposal_ids": [jeanne["item_id"], ours["item_id"]], "summary": "Les deux"},
    )
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})
    await project.ok(
        "POST",
        "/assessments",
        "p2",
        {
            "scores": [
                {"indicator_id": f"{item}.i1", "score": 4}
                for item in (ours["item_id"], jeanne["item_id"])
            ]
        },
    )
    await project.ok("POST", "/outcome", "fac", {"text": "Conclusion : les jardins vivent."})
    await dev.client.get_workflow_handle(temporal_client.workflow_id(project.id)).result()
    view = await project.view()
    assert view["phase"] == "closed", (view["phase"], view["pending"], view["expected"])
    report = (await project.call("GET", "/report?format=md", "coordinator-credential")).text
    assert "Familles" in report  # the report is there

    # Nowhere Alliance serves: the view, events, the coordinator's lists, the access export.
    served = [
        await project.view(),
        await project.ok("GET", "/events?limit=1000", "coordinator-credential"),
        await project.ok("GET", "/participants", "coordinator-credential"),
        await project.ok("GET", "/participants/p1/data", "coordinator-credential"),
        await project.view("p2"),
        report,
    ]
    text = json.dumps(served, ensure_ascii=False)
    for secret in ("Jeanne", "jeanne@example.org", "Mon jardin à moi", "Chez moi"):
        assert secret not in text, secret
    assert "[retiré]" in text and "Un local" in text  # the others' texts stay
    # The organisation stays in the story, as "a participant of" it.
    assert "Partenaire 1" in text
    # The old link stops working.
    gone = await project.call("GET", "", "p1")
    assert gone.status_code == 401

    # The project's history still replays on today's code.
    handle = dev.client.get_workflow_handle(temporal_client.workflow_id(project.id))
    history = await handle.fetch_history()
    from temporalio.worker import Replayer

    from worker import SANDBOX
    from workflows.project import ProjectWorkflow

    replayer = Replayer(
        workflows=[ProjectWorkflow],
        data_converter=dev.client.data_converter,
        workflow_runner=SANDBOX,
    )
    assert (await replayer.replay_workflow(history)).replay_failure is None
