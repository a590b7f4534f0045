"""What a new user tripped on, over HTTP: input a person would not mean to send, refusals that
mislead, actions that change nothing, people invited twice, server details."""

from __future__ import annotations

import asyncio

import pytest

from tests.api_helpers import COORD, ApiProject, bearer, project_body


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_an_empty_or_blank_text_is_422_naming_the_field(http, text):
    project = await ApiProject.launch(http)
    response = await project.call("POST", "/contributions", "p1", {"kind": "need", "text": text})
    assert response.status_code == 422
    assert response.json()["message"].startswith("text: ")
    assert response.json()["details"][0]["loc"] == ["body", "text"]


async def test_control_characters_are_dropped_from_what_is_recorded(http):
    project = await ApiProject.launch(http)
    await project.ok(
        "POST", "/contributions", "p1", {"kind": "need", "text": "Un\x00 lieu\x1b\x07"}
    )
    events = await project.ok("GET", "/events", "p1")
    assert events["events"][-1]["data"]["contribution"]["text"] == "Un lieu"


async def test_a_body_that_is_not_json_or_not_utf8_is_422(http):
    project = await ApiProject.launch(http)
    for content in (b'{"kind": "need", "text": ', b'{"kind": "need", "text": "caf\xe9"}'):
        response = await http.post(
            f"/projects/{project.id}/contributions",
            content=content,
            headers={**project.auth("p1"), "Content-Type": "application/json"},
        )
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"


async def test_options_and_405_list_every_allowed_method(http):
    options = await http.options("/projects")
    assert options.status_code == 204 and options.headers["Allow"] == "GET, OPTIONS, POST"
    response = await http.delete("/projects")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, OPTIONS, POST"
    assert "GET, OPTIONS, POST" in response.json()["message"]


async def test_a_deadline_without_a_time_zone_is_422_naming_the_field(http):
    project = await ApiProject.launch(http)
    body = {"deadline": "2027-01-15T18:00:00", "reason": "vacances"}
    response = await project.call("POST", "/deadline", "fac", body)
    assert response.status_code == 422 and response.json()["message"].startswith("deadline: ")


async def test_a_launch_refuses_short_phases_and_a_process_nobody_can_vote_in(http):
    short = project_body(process={"decision": {"duration": "PT10M"}})
    response = await http.post("/projects", json=short, headers=COORD)
    assert response.status_code == 422
    assert response.json()["message"].startswith("process.decision.duration: ")
    nobody = project_body(partners=0)
    response = await http.post("/projects", json=nobody, headers=COORD)
    assert response.status_code == 422 and "partner to decide" in response.json()["message"]


async def test_the_same_answer_twice_records_one_event_and_says_so(http):
    project = await ApiProject.launch(http)
    await project.to_decision(["p1", "p2", "p3"])
    first = await project.ok("PUT", "/answer", "p1", {"kind": "object", "reason": "Inondable"})
    again = await project.ok("PUT", "/answer", "p1", {"kind": "object", "reason": "Inondable"})
    assert first["seqs"] and not first["unchanged"]
    assert again["seqs"] == [] and again["unchanged"]
    same = await project.ok("PATCH", "/participants/me", "p1", {"email": "p1@example.org"})
    assert same["unchanged"]


async def test_the_same_person_twice_is_refused_and_the_same_organisation_noted(http):
    project = await ApiProject.launch(http)
    twice = {
        "organisation_name": "Autre association",
        "organisation_id": "autre",
        "role": "partner",
        "email": "P2@example.org",
    }
    response = await project.call("POST", "/participants", "coordinator-credential", twice)
    assert response.status_code == 409 and response.json()["code"] == "same_email"
    assert "(p2)" in response.json()["message"]
    same_org = {
        "organisation_name": "Partenaire 1 bis",
        "organisation_id": "org-1",
        "role": "partner",
    }
    invited = await project.ok("POST", "/participants", "coordinator-credential", same_org)
    assert [w["code"] for w in invited["result"]["warnings"]] == ["same_organisation"]


async def test_refusals_say_what_is_true(http, dev):
    project = await ApiProject.launch(http)
    response = await project.call("PUT", "/answer", "obs", {"kind": "consent"})
    assert response.status_code == 403
    assert response.json()["message"] == (
        "observers follow the project and read everything, but do not act: "
        "only a partner may answer a decision"
    )
    listing = await http.get("/projects", headers=project.auth("p1"))
    assert listing.status_code == 403 and "coordinator credential" in listing.json()["message"]
    assert "ops credential" in listing.json()["message"]
    await project.ok("POST", "/cancel", "coordinator-credential", {"reason": "Plus de budget"})
    response = await project.call("POST", "/contributions", "p1", {"kind": "need", "text": "x"})
    assert response.status_code == 409 and "cancelled" in response.json()["message"]
    # Also once the workflow has ended.
    await dev.client.get_workflow_handle(f"project-{project.id}").result()
    response = await project.call("POST", "/contributions", "p1", {"kind": "need", "text": "y"})
    assert response.status_code == 409 and "was cancelled" in response.json()["message"]


async def test_the_view_and_events_name_no_server_file(http):
    project = await ApiProject.launch(http, project_body(partners=1))
    await project.to_decision(["p1"])
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    await project.ok("POST", "/close-phase", "fac")  # the implementation
    view = await project.view("p1")
    indicator = view["adopted_plan"]["indicators"][0]["id"]
    await project.ok(
        "POST", "/assessments", "p1", {"scores": [{"indicator_id": indicator, "score": 4}]}
    )
    await project.ok("POST", "/outcome", "fac", {"text": "Conclusion : les jardins vivent."})
    for _ in range(100):  # the report is published by an activity, moments later
        view = await project.view("p1")
        if view["report"]:
            break
        await asyncio.sleep(0.1)
    assert set(view["report"]) == {"digest"}
    events = await project.ok("GET", "/events?limit=1000", "coordinator-credential")
    published = [e for e in events["events"] if e["data"]["type"] == "report_published"]
    assert published and "location" not in published[0]["data"]
    report = await http.get(
        f"/projects/{project.id}/report?format=md", headers=bearer(project.tokens["p1"])
    )
    assert report.status_code == 200 and report.text.startswith("# Jardins partagés")
