"""Process templates over HTTP: a call for projects run end to end (only the local authorities
answer the budget; the partners' majority follows; an objection loops back), templates saved
as versions, refused with the step named, and a project that keeps the version it was
launched from."""

from __future__ import annotations

from typing import Any

from tests.api_helpers import COORD, ApiProject, bearer, project_body
from tests.conftest import COORDINATOR_CREDENTIAL


def aap_body(**kw: Any) -> dict[str, Any]:
    body = project_body(3, template={"id": "appel-a-projets", "version": 1}, **kw)
    for p in body["participants"]:
        if p["id"] == "p1":
            p["organisation_kind"] = "local_authority"
            p["organisation_name"] = "Ville de Lyon"
    return body


async def test_a_call_for_projects_runs_end_to_end_over_http(http):
    project = await ApiProject.launch(http, aap_body(durations={"action": "PT0S"}))
    view = await project.view()
    assert (view["template"]["id"], view["template"]["version"]) == ("appel-a-projets", 1)
    assert [s["id"] for s in view["steps"]] == [
        "diagnosis",
        "co_design",
        "budget",
        "decision",
        "action",
        "evaluation",
    ]
    assert view["steps"][0]["current"] and view["step"] == "diagnosis"
    proposal = await project.to_decision(["p1", "p2", "p3"])
    view = await project.view()
    assert (view["phase"], view["step"], view["expected"]) == ("decision", "budget", ["p1"])
    (budget,) = next(s for s in view["steps"] if s["id"] == "budget")["approvals"]
    assert budget["approver_ids"] == ["p1"] and budget["tally"]["voters"] == 1
    # Not among the budget's approvers: 403, naming who approves.
    refused = await project.call("PUT", "/answer", "p2", {"kind": "consent"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "not_an_approver"
    assert "Ville de Lyon" in refused.json()["message"]
    # An objection in the budget approval: back to co-design, round 2.
    await project.ok("PUT", "/answer", "p1", {"kind": "object", "reason": "Budget trop lourd"})
    await project.judge("p1")
    view = await project.view()
    assert (view["phase"], view["round"]) == ("co_design", 2)
    await project.ok(
        "POST",
        "/plan",
        "fac",
        {
            "proposal_ids": [proposal],
            "summary": "Plan allégé",
            "objection_answers": {"p1": "Un seul jardin la première année"},
        },
    )
    assert (await project.view())["step"] == "budget"
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    # The budget approved: every partner decides, by majority.
    view = await project.view()
    assert (view["step"], view["expected"]) == ("decision", ["p1", "p2", "p3"])
    await project.ok("PUT", "/answer", "p1", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p3", {"kind": "object", "reason": "Je préfère l'autre"})
    view = await project.view()
    assert (view["phase"], view["outcome"]) == ("evaluation", "adopted")
    decided = [(d["step"], d["round"], d["outcome"]) for d in view["decisions"]]
    assert decided == [
        ("budget", 1, "not_adopted"),
        ("budget", 2, "adopted"),
        (None, 2, "adopted"),
    ]
    majority = view["decisions"][-1]["approvals"][0]
    assert (majority["approval"], majority["rule"], majority["tally"]["consents"]) == (
        "partners",
        "majority",
        2,
    )
    indicator = view["adopted_plan"]["indicators"][0]["id"]
    for pid in ("p1", "p2", "p3"):
        await project.ok(
            "POST", "/assessments", pid, {"scores": [{"indicator_id": indicator, "score": 4}]}
        )
    await project.ok("POST", "/outcome", "fac", {"text": "Un beau projet"})
    report = await project.wait_for_report()
    # The report names each step and each approval, with its tally.
    assert "### 1er tour, Approbation du budget\u00a0: décision non adoptée" in report
    assert "### 2e tour, Décision des partenaires\u00a0: décision adoptée" in report
    assert (
        "- Les collectivités, consentement\u00a0: 1 consentement, 0 objection, 0 abstention, "
        "0 sans réponse, sur 1 votant\u202f; approbation adoptée"
    ) in report
    assert (
        "- Les partenaires, majorité\u00a0: 2 consentements, 1 objection, 0 abstention, "
        "0 sans réponse, sur 3 votants\u202f; approbation adoptée"
    ) in report
    register = await project.call("GET", "/decisions?format=excel", "coordinator-credential")
    lines = register.content.decode("utf-8-sig").splitlines()
    assert lines[0].endswith(";Étape;Approbation;Jugement de l’objection;Réponses par délégation")
    assert lines[-1].endswith(";Décision des partenaires;Les partenaires;;")  # no judgement


async def test_templates_are_saved_as_versions_and_refused_with_the_step_named(http):
    listed = (await http.get("/templates", headers=COORD)).json()
    assert [t["id"] for t in listed] == ["appel-a-projets", "co-construction", "consultation"]
    assert all(t["builtin"] for t in listed)
    mine = (await http.get("/templates/consultation/versions/1", headers=COORD)).json()
    document = mine["template"] | {"id": "consultation-lyon"}
    document["steps"][1]["if_not_adopted"] = {"to": "contribution", "max_rounds": 2}
    refused = await http.post("/templates", json=document, headers=COORD)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "invalid_template"
    assert body["details"] == [
        {
            "step": "decision",
            "field": "if_not_adopted.to",
            "code": "loop_to_missing_step",
            "message": "if_not_adopted goes back to 'contribution', which is no step of this "
            "template (steps: diagnosis, decision)",
        }
    ]
    assert body["message"].startswith("step 'decision': if_not_adopted.to:")
    document["steps"][1]["if_not_adopted"] = {"to": "diagnosis", "max_rounds": 2}
    created = await http.post("/templates", json=document, headers=COORD)
    assert created.status_code == 201, created.text
    assert created.json()["latest"]["version"] == 1
    # A second time under the same id: a conflict pointing at /versions.
    again = await http.post("/templates", json=document, headers=COORD)
    assert again.status_code == 409 and "/versions" in again.json()["message"]
    # The YAML of version 1, changed and sent back as version 2.
    yaml_file = await http.get(
        "/templates/consultation-lyon/versions/1", params={"format": "yaml"}, headers=COORD
    )
    assert yaml_file.headers["content-type"].startswith("application/yaml")
    changed = yaml_file.text.replace("duration: P14D", "duration: P21D")
    assert changed != yaml_file.text
    second = await http.post(
        "/templates/consultation-lyon/versions",
        content=changed.encode(),
        headers={**COORD, "Content-Type": "application/yaml"},
    )
    assert second.status_code == 201, second.text
    detail = second.json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["versions"][0]["digest"] != detail["versions"][1]["digest"]
    # Built-in ids are reserved; an import may take another id.
    builtin = await http.post("/templates", json=mine["template"], headers=COORD)
    assert builtin.status_code == 409 and "new_id" in builtin.json()["message"]
    copied = await http.post(
        "/templates", params={"new_id": "ma-consultation"}, json=mine["template"], headers=COORD
    )
    assert copied.status_code == 201 and copied.json()["id"] == "ma-consultation"
    assert "consultation-lyon" in [
        t["id"] for t in (await http.get("/templates", headers=COORD)).json()
    ]


async def test_a_new_version_leaves_a_project_launched_from_the_first_unchanged(http):
    document = (await http.get("/templates/consultation", headers=COORD)).json()["latest"]
    template = document["template"] | {"id": "consultation-8e"}
    v1 = (await http.post("/templates", json=template, headers=COORD)).json()["latest"]
    body = project_body(2, template={"id": "consultation-8e"})
    project = await ApiProject.launch(http, body)
    template["steps"][0]["duration"] = "P30D"
    v2 = (
        await http.post("/templates/consultation-8e/versions", json=template, headers=COORD)
    ).json()["latest"]
    assert v2["version"] == 2 and v2["digest"] != v1["digest"]
    view = await project.view()
    assert view["template"] == {"id": "consultation-8e", "version": 1, "digest": v1["digest"]}
    assert view["steps"][0]["duration"] == "P21D"
    # A launch naming no version takes the latest; one naming a missing version is refused.
    later = await ApiProject.launch(http, project_body(2, template={"id": "consultation-8e"}))
    assert (await later.view())["template"]["version"] == 2
    missing = await http.post(
        "/projects",
        json=project_body(2, template={"id": "consultation-8e", "version": 9}),
        headers=COORD,
    )
    assert missing.status_code == 422
    assert "has no version 9 (versions: 1, 2)" in missing.json()["message"]
    both = await http.post(
        "/projects",
        json=project_body(2, template={"id": "consultation"}, process={"rule": "majority"}),
        headers=COORD,
    )
    assert both.status_code == 422 and "either a template or a process" in both.json()["message"]
    # Templates are the coordinators': a personal link may not read them.
    assert (await http.get("/templates", headers=bearer(project.tokens["p1"]))).status_code == 403
    assert COORDINATOR_CREDENTIAL


async def test_a_hostile_document_is_refused_never_a_500(http):
    deep_yaml = "steps: " + "[" * 20000 + "]" * 20000 + "\n"
    refused = await http.post(
        "/templates", content=deep_yaml.encode(),
        headers={**COORD, "Content-Type": "application/yaml"},
    )  # fmt: skip
    assert refused.status_code == 422 and refused.json()["details"][0]["code"] == "too_deep"
    deep_json = '{"steps": ' + "[" * 20000 + "]" * 20000 + "}"
    refused = await http.post(
        "/templates",
        content=deep_json.encode(),
        headers={**COORD, "Content-Type": "application/json"},
    )
    assert refused.status_code == 422 and refused.json()["details"][0]["code"] == "too_deep"
    big = '{"id": "x", "name": {"fr": "' + "x" * 70_000 + '"}, "steps": []}'
    refused = await http.post(
        "/templates", content=big.encode(), headers={**COORD, "Content-Type": "application/json"}
    )
    assert refused.status_code == 422
    assert refused.json()["details"][0]["code"] == "document_too_large"
