"""The HTTP API with a real worker on a real Temporal dev server."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest

from api.app import create_app
from tests.api_helpers import COORD, ApiProject, bearer, project_body
from tests.conftest import OPS_CREDENTIAL, OTHER_ORG_CREDENTIAL, api_settings
from tests.helpers import make_spec
from workflows.project import ProjectInput, ProjectWorkflow

PARTNERS = ["p1", "p2", "p3"]


async def test_a_whole_project_through_the_api_with_an_objection_round(http):
    project = await ApiProject.launch(http)
    launched = project.launched
    assert launched["view"]["phase"] == "diagnosis"
    assert set(project.tokens) == {"coord", "fac", "obs", *PARTNERS}
    assert launched["links"]["ui"].endswith(f"/workflows/project-{project.id}")
    # The launch's view is the workflow's own, deadline included, though no query made it.
    assert launched["view"] == await project.view()

    proposal = await project.to_decision(PARTNERS)
    assert (await project.view("p1"))["phase"] == "decision"
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p2", {"kind": "object", "reason": "Terrain inondable"})
    await project.ok("PUT", "/answer", "p3", {"kind": "abstain"})
    result = await project.judge("p2")
    assert (result["phase"], result["round"]) == ("co_design", 2)
    await project.ok("POST", f"/proposals/{proposal}/amendments", "p2", {"text": "Bacs surélevés"})

    response = await project.call(
        "POST", "/plan", "fac", {"proposal_ids": [proposal], "summary": "Plan 2"}
    )
    assert response.status_code == 409 and response.json()["code"] == "objection_unanswered"
    await project.ok(
        "POST",
        "/plan",
        "fac",
        {
            "proposal_ids": [proposal],
            "summary": "Plan 2",
            "objection_answers": {"p2": "Bacs surélevés"},
        },
    )
    for pid in PARTNERS:
        result = await project.ok("PUT", "/answer", pid, {"kind": "consent"})
    assert result["phase"] == "action"
    await project.ok("POST", "/outcome", "fac", {"text": "Adopté au deuxième tour"})
    await project.ok("POST", "/progress", "p1", {"text": "Bacs installés"})
    response = await project.call("GET", "/report", "p1")
    assert response.status_code == 409 and response.json()["code"] == "no_report_yet"
    await project.ok("POST", "/close-phase", "fac", {"reason": "travaux finis"})
    indicator = (await project.view())["adopted_plan"]["indicators"][0]["id"]
    for pid in PARTNERS:
        await project.ok(
            "POST", "/assessments", pid, {"scores": [{"indicator_id": indicator, "score": 4}]}
        )
    await project.ok("POST", "/outcome", "fac", {"text": "Conclusion : les jardins vivent."})

    for _ in range(100):  # the report is published by an activity, then the project closes
        view = await project.view("obs")
        if view["phase"] == "closed":
            break
        await asyncio.sleep(0.05)
    assert view["phase"] == "closed" and view["outcome"] == "adopted"
    report = (await project.call("GET", "/report", "p2")).json()
    assert report["results"][0]["mean_score"] == 4.0 and report["markdown"].startswith(
        "# Jardins partagés"
    )
    md = await project.call("GET", "/report?format=md", "obs")
    assert md.headers["content-type"].startswith("text/markdown")
    assert "### 2e tour\u00a0: décision adoptée" in md.text  # the project's language
    english = await project.call("GET", "/report?format=md&lang=en", "obs")
    assert "### Round 2: decision adopted" in english.text
    assert report["language"] == "fr" and "Conclusion : les jardins vivent." in report["markdown"]
    events = await project.ok("GET", "/events?after=0&limit=5", "coordinator-credential")
    assert [e["seq"] for e in events["events"]] == [1, 2, 3, 4, 5] and events["next_after"] == 5
    rest = await project.ok("GET", "/events?after=5&limit=1000", "p1")
    assert rest["events"][-1]["data"]["type"] == "project_closed"
    # Acting on a closed project: 409, whatever the role.
    response = await project.call("POST", "/progress", "p1", {"text": "encore"})
    assert response.status_code == 409 and response.json()["code"] == "project_over"


# -- authorization ---------------------------------------------------------------------------

ENDPOINTS = [
    # method, path, body, roles that may (coordinator-credential acts as the coordinator)
    ("GET", "", None, {"coord", "fac", "p1", "obs", "coordinator-credential", "ops"}),
    ("GET", "/events", None, {"coord", "fac", "p1", "obs", "coordinator-credential", "ops"}),
    ("GET", "/report", None, {"coord", "fac", "p1", "obs", "coordinator-credential", "ops"}),
    (
        "POST",
        "/participants",
        {"organisation_name": "Nouvel habitant", "organisation_id": "h", "role": "partner"},
        {"coord", "coordinator-credential"},
    ),
    ("POST", "/participants/p2/link", None, {"coord", "coordinator-credential"}),
    ("PATCH", "/participants/me", {"language": "en"}, {"coord", "fac", "p1", "obs"}),
    ("POST", "/contributions", {"kind": "need", "text": "x"}, {"p1"}),
    ("POST", "/proposals", {"title": "t", "description": "d"}, {"p1"}),
    ("POST", "/proposals/prop-1/amendments", {"text": "x"}, {"p1"}),
    ("POST", "/proposals/prop-1/endorsements", None, {"p1"}),
    ("POST", "/plan", {"proposal_ids": ["prop-1"], "summary": "s"}, {"fac"}),
    ("POST", "/outcome", {"text": "x"}, {"fac"}),
    ("PUT", "/answer", {"kind": "consent"}, {"p1"}),
    ("POST", "/deadline", {"deadline": "2030-01-01T00:00:00Z", "reason": "r"}, {"fac"}),
    ("POST", "/close-phase", None, {"fac"}),
    ("POST", "/progress", {"text": "x"}, {"p1"}),
    ("POST", "/assessments", {"scores": [{"indicator_id": "i", "score": 3}]}, {"p1"}),
    (
        "POST",
        "/participants/p2/replacement",
        {
            "replacement": {
                "organisation_name": "Relève",
                "organisation_id": "o2",
                "role": "partner",
            }
        },
        {"coord", "coordinator-credential"},
    ),
    ("DELETE", "/participants/p3", None, {"coord", "coordinator-credential"}),
    ("POST", "/cancel", {"reason": "r"}, {"coord", "coordinator-credential"}),
]
CALLERS = [
    "coord",
    "fac",
    "p1",
    "obs",
    "coordinator-credential",
    "ops",
    "other-org",
    "other-project",
    "no-token",
    "bad-token",
]


async def test_authorization_matrix_every_role_on_every_endpoint(http):
    project = await ApiProject.launch(http)
    elsewhere = await ApiProject.launch(http)
    headers = {
        "ops": bearer(OPS_CREDENTIAL),
        "other-org": bearer(OTHER_ORG_CREDENTIAL),
        "other-project": bearer(elsewhere.tokens["p1"]),
        "no-token": {},
        "bad-token": bearer("not-a-token"),
    }
    failures = []
    for method, path, body, allowed in ENDPOINTS:
        for caller in CALLERS:
            auth = headers[caller] if caller in headers else project.auth(caller)
            response = await http.request(
                method, f"/projects/{project.id}{path}", json=body, headers=auth
            )
            status = response.status_code
            if caller in ("no-token", "bad-token"):
                expected = {401}
            elif caller in ("other-org", "other-project"):
                expected = {404}  # the project's existence does not leak
            elif caller in allowed:
                expected = {200, 201, 409}  # authorised; 409 when the phase does not allow it yet
            else:
                expected = {403}
            if status not in expected:
                failures.append(f"{method} {path} as {caller}: {status} {response.text[:120]}")
            elif status == 403:
                message = response.json()["message"]
                if "only a" not in message:
                    failures.append(f"{method} {path} as {caller}: 403 without who may: {message}")
    assert not failures, "\n".join(failures)


async def test_listing_is_only_for_credentials_and_scoped_to_the_organisation(http):
    mine = await ApiProject.launch(http, project_body(territory=f"T-{uuid.uuid4().hex[:6]}"))
    response = await http.get("/projects", headers=bearer(mine.tokens["p1"]))
    assert response.status_code == 403
    response = await http.get(
        "/projects",
        params={"territory": mine.launched["view"]["territory"]},
        headers=bearer(OTHER_ORG_CREDENTIAL),
    )
    assert response.status_code == 200 and response.json()["projects"] == []


async def test_removed_partners_and_replaced_links_stop_working(http):
    project = await ApiProject.launch(http)
    old = project.tokens["p1"]
    link = await project.ok("POST", "/participants/p1/link", "coordinator-credential")
    new = link["participant"]["token"]
    assert new != old and link["result"]["token_version"] == 2
    response = await http.post(
        f"/projects/{project.id}/contributions",
        json={"kind": "need", "text": "x"},
        headers=bearer(old),
    )
    assert response.status_code == 401 and response.json()["code"] == "stale_token"
    assert (await http.get(f"/projects/{project.id}", headers=bearer(old))).status_code == 401
    response = await http.post(
        f"/projects/{project.id}/contributions",
        json={"kind": "need", "text": "x"},
        headers=bearer(new),
    )
    assert response.status_code == 201

    await project.ok("DELETE", "/participants/p2", "coordinator-credential")
    response = await project.call("GET", "", "p2")
    assert response.status_code == 401
    response = await project.call("POST", "/contributions", "p2", {"kind": "need", "text": "x"})
    assert response.status_code == 401 and response.json()["code"] == "not_a_participant"

    invited = await project.ok(
        "POST",
        "/participants",
        "coord",
        {
            "organisation_name": "Labo EVS",
            "organisation_id": "univ-lyon2",
            "organisation_kind": "university",
            "role": "partner",
        },
    )
    token = invited["participant"]["token"]
    response = await http.post(
        f"/projects/{project.id}/contributions",
        json={"kind": "observation", "text": "Sols à analyser"},
        headers=bearer(token),
    )
    assert response.status_code == 201


# -- errors ----------------------------------------------------------------------------------


async def test_error_statuses_carry_a_code_and_a_message(http):
    project = await ApiProject.launch(http)
    response = await project.call("PUT", "/answer", "p1", {"kind": "consent"})
    assert response.status_code == 409
    assert response.json() == {
        "code": "wrong_phase",
        "message": "answers are accepted only during the decision phase; the project is in diagnosis",
    }
    response = await project.call("PUT", "/answer", "p1", {"kind": "maybe"})
    assert response.status_code == 422 and response.json()["details"][0]["loc"] == ["body", "kind"]
    response = await project.call(
        "POST", "/contributions", "p1", {"kind": "need", "text": "x", "participant_id": "p2"}
    )
    assert response.status_code == 422  # nobody can name another actor in a body
    response = await project.call("POST", "/contributions", "fac", {"kind": "need", "text": "x"})
    assert response.status_code == 403
    assert (
        response.json()["message"]
        == "only a partner may add a contribution; you take part as facilitator"
    )
    response = await http.get("/projects/doesnotexist", headers=COORD)
    assert response.status_code == 404 and response.json()["code"] == "project_not_found"
    response = await project.call(
        "POST", "/contributions", "p1", {"kind": "need", "text": "x" * 300_000}
    )
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"
    response = await project.call("PATCH", "/participants/me", "p1", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 422 and "Europe/Paris" in response.json()["message"]
    body = project_body()
    body["participants"][3]["time_zone"] = "Lune/Tranquillité"
    response = await http.post("/projects", json=body, headers=COORD)
    assert response.status_code == 422 and "participants.3.time_zone" in response.json()["message"]
    response = await http.post(
        "/projects",
        json={
            **project_body(),
            "participants": [
                {"organisation_name": "Seul", "organisation_id": "x", "role": "partner"}
            ],
        },
        headers=COORD,
    )
    assert response.status_code == 422 and "coordinator" in response.json()["message"]
    response = await http.get("/projects", params={"phase": "dreaming"}, headers=COORD)
    assert response.status_code == 422


async def test_no_worker_answering_gives_503_with_retry_after(dev, http):
    launched = await ApiProject.launch(http)
    # An API whose projects go to a task queue no worker polls.
    app = create_app(
        api_settings(dev, task_queue="nobody-listens", rpc_timeout_seconds=1.0), client=dev.client
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as lonely:
        # A launch is durable without a worker: the project waits for one.
        response = await lonely.post("/projects", json=project_body(), headers=COORD)
        assert response.status_code == 201
        waiting = response.json()["project_id"]
        response = await lonely.get(f"/projects/{waiting}", headers=COORD)
        assert response.status_code == 503 and response.headers["Retry-After"]
        assert response.json()["code"] == "no_worker"
        assert "no Alliance worker is running" in response.json()["message"]
        # The earlier project's worker is still there: reads through this API work.
        assert (await lonely.get(f"/projects/{launched.id}", headers=COORD)).status_code == 200


async def test_temporal_unreachable_gives_503_and_readyz_says_so(dev):
    app = create_app(api_settings(dev, temporal_address="127.0.0.1:1", rpc_timeout_seconds=1.0))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as down:
        assert (await down.get("/healthz")).status_code == 200
        ready = await down.get("/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
        response = await down.get("/projects/x", headers=COORD)
        assert response.status_code == 503 and "127.0.0.1:1" in response.json()["message"]


async def test_readyz_is_ready_with_temporal_and_a_worker(http):
    # A worker that just started shows in the task queue after its first poll.
    for _ in range(50):
        ready = await http.get("/readyz")
        if ready.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert ready.json() == {"status": "ready"}


# -- idempotency -----------------------------------------------------------------------------


async def test_the_same_request_twice_records_one_event_and_returns_the_same_result(http):
    project = await ApiProject.launch(http)
    body = {"kind": "resource", "text": "Une salle au centre social"}
    first = await project.ok("POST", "/contributions", "p1", body, key="k-1")
    again = await project.ok("POST", "/contributions", "p1", body, key="k-1")
    assert first == again
    # Another partner may use the same key for its own action.
    await project.ok("POST", "/contributions", "p2", body, key="k-1")
    response = await project.call(
        "POST", "/contributions", "p1", {**body, "text": "autre"}, key="k-1"
    )
    assert response.status_code == 422 and response.json()["code"] == "idempotency_conflict"
    events = await project.ok("GET", "/events", "p1")
    assert [e["data"]["type"] for e in events["events"]].count("contribution_added") == 2


async def test_a_retried_launch_returns_the_same_project(http):
    key = uuid.uuid4().hex
    body = project_body()
    first = await http.post("/projects", json=body, headers={**COORD, "Idempotency-Key": key})
    again = await http.post("/projects", json=body, headers={**COORD, "Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["project_id"] == again.json()["project_id"]
    assert first.json()["participants"] == again.json()["participants"]
    other = await http.post(
        "/projects", json={**body, "title": "Autre"}, headers={**COORD, "Idempotency-Key": key}
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"


# -- load and lists --------------------------------------------------------------------------


async def test_fifty_partners_answering_at_once_are_all_recorded(http):
    partners = [f"p{n}" for n in range(1, 51)]
    project = await ApiProject.launch(http, project_body(50))
    await project.to_decision(partners)
    responses = await asyncio.gather(
        *(project.call("PUT", "/answer", pid, {"kind": "consent"}) for pid in partners)
    )
    assert [r.status_code for r in responses if r.status_code != 200] == []
    view = await project.view()
    assert view["phase"] == "action" and view["decisions"][0]["tally"]["consents"] == 50


async def test_a_territory_no_project_can_have_lists_none(http):
    """Territories are kept cleaned: a filter with a control character (a NUL made Temporal's
    SQLite visibility fail, answered 503) matches nothing, and says so."""
    for territory in ("Lyon\x00 8e", "Lyon\x05", " Lyon 8e"):
        listed = await http.get("/projects", params={"territory": territory}, headers=COORD)
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"projects": [], "next_page_token": None}


async def test_list_filters_and_pagination(http):
    territory = f"Quartier-{uuid.uuid4().hex[:6]}"
    projects = [
        await ApiProject.launch(http, project_body(1, territory=territory)) for _ in range(5)
    ]
    await projects[0].to_decision(["p1"])
    wanted = {p.id for p in projects}
    seen: list[str] = []
    for _ in range(50):  # visibility is eventually consistent
        seen, token = [], None
        while True:
            params = {
                "territory": territory,
                "page_size": 2,
                **({"page_token": token} if token else {}),
            }
            page = (await http.get("/projects", params=params, headers=COORD)).json()
            seen += [p["id"] for p in page["projects"]]
            token = page["next_page_token"]
            if not token:
                break
        deciding = (
            await http.get(
                "/projects", params={"territory": territory, "phase": "decision"}, headers=COORD
            )
        ).json()["projects"]
        if set(seen) == wanted and [p["id"] for p in deciding] == [projects[0].id]:
            break
        await asyncio.sleep(0.1)
    assert sorted(seen) == sorted(wanted)  # every project once, across pages of 2
    assert deciding[0]["title"] == "Jardins partagés" and deciding[0]["pending"] == 1
    ops = (
        await http.get("/projects", params={"territory": territory}, headers=bearer(OPS_CREDENTIAL))
    ).json()
    assert len(ops["projects"]) == 5
    bad = await http.get("/projects", params={"page_token": "!!!"}, headers=COORD)
    assert bad.status_code == 422
    first = (
        await http.get("/projects", params={"territory": territory, "page_size": 2}, headers=COORD)
    ).json()
    borrowed = await http.get(
        "/projects",
        params={
            "territory": territory,
            "phase": "decision",
            "page_token": first["next_page_token"],
        },
        headers=COORD,
    )
    assert borrowed.status_code == 422 and "this listing" in borrowed.json()["message"]
    # Well-formed base64 that the server cannot read (found by schemathesis).
    for garbled in ("W0ZpbHRlcmVkXQ==", "AAAA"):
        bad = await http.get(
            "/projects", params={"page_token": garbled, "phase": "decision"}, headers=COORD
        )
        assert bad.status_code == 422 and bad.json()["code"] == "bad_page_token"


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
async def test_the_api_documents_itself(http, path):
    response = await http.get(path)
    assert response.status_code == 200
    if path == "/docs":
        # Served from the package, so the page works without internet access.
        assets = re.findall(r'(?:src|href)="(/static-offline-docs/[^"]+)"', response.text)
        assert assets and "cdn." not in response.text
        for asset in assets:
            assert (await http.get(asset)).status_code == 200
    if path == "/openapi.json":
        schema = response.json()
        assert "/projects/{project_id}/answer" in schema["paths"]
        schemas = schema["components"]["schemas"]
        assert schemas["AnswerFields"]["examples"]
        # One definition per field: the body's limits are the command's, in the OpenAPI too.
        assert schemas["ContributionFields"]["properties"]["text"]["maxLength"] == 5000
        assert schema["paths"]["/projects/{project_id}/contributions"]["post"]["responses"]["202"]


async def test_contact_details_stay_with_the_coordinator(http_factory):
    # A webhook on this machine (a partner's tool), allowed in plain http for the test.
    http = http_factory(webhooks_allow_loopback_http=True)
    project = await ApiProject.launch(http)
    await project.ok(
        "PATCH", "/participants/me", "p2", {"webhook_url": "http://localhost:9/hooks-p2"}
    )
    for who in ("obs", "p1", "fac"):
        text = json.dumps(await project.ok("GET", "/events", who))
        assert "@example.org" not in text and "hooks-p2" not in text, who
    # The history has neither; the coordinator reads them joined from the directory.
    coordinator = json.dumps(await project.ok("GET", "/events", "coordinator-credential"))
    assert "p1@example.org" in coordinator
    people = await project.ok("GET", "/participants", "coordinator-credential")
    assert "localhost:9/hooks-p2" in json.dumps(people)


async def test_every_error_has_the_same_shape_and_says_what_to_do(http):
    project = await ApiProject.launch(http)
    response = await http.get("/nowhere", headers=COORD)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = await http.delete(f"/projects/{project.id}", headers=COORD)
    assert response.status_code == 405 and "/docs" in response.json()["message"]
    response = await http.post(
        f"/projects/{project.id}/contributions",
        content=b'{"kind": "need",,}',
        headers={**project.auth("p1"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422 and "not valid JSON" in response.json()["message"]
    response = await http.post(
        f"/projects/{project.id}/contributions",
        content=b"kind=need",
        headers={**project.auth("p1"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (
        response.status_code == 422
        and "Content-Type: application/json" in response.json()["message"]
    )
    response = await project.call("PATCH", "/participants/me", "p1", {"email": "pas-un-email"})
    assert response.status_code == 422 and "email" in response.json()["message"]
    response = await project.call("PATCH", "/participants/me", "p1", {"webhook_url": "ftp://x"})
    assert response.status_code == 422
    assert (await project.call("PATCH", "/participants/me", "p1", {"email": ""})).status_code == 200


async def test_the_openapi_declares_the_bearer_scheme(http):
    schema = (await http.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())


async def test_a_project_started_outside_the_api_is_listed_with_its_title(dev, http):
    territory = f"CLI-{uuid.uuid4().hex[:6]}"
    spec = make_spec(1, territory=territory)
    # As `temporal workflow start` would: no memo, no search attributes given.
    await dev.client.start_workflow(
        ProjectWorkflow.run,
        ProjectInput(spec=spec),
        id=f"project-{spec.id}",
        task_queue=dev.task_queue,
    )
    for _ in range(50):
        page = (await http.get("/projects", params={"territory": territory}, headers=COORD)).json()
        if page["projects"] and page["projects"][0]["title"]:
            break
        await asyncio.sleep(0.1)
    assert (
        page["projects"][0]["title"] == spec.title and page["projects"][0]["phase"] == "diagnosis"
    )
