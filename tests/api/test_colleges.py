"""A majority by weighted colleges, as a cooperative counts it, over HTTP: a weighting that
cannot be is refused when the template is saved (422), a college with nobody in it at launch
(422); the decision is the weights' (here against the one-voice-each count)."""

from __future__ import annotations

from tests.api_helpers import COORD, ApiProject, project_body

KINDS = {"p1": "local_authority", "p2": "inhabitants", "p3": "university", "p4": "company",
         "p5": "association"}  # fmt: skip


def template(weights: tuple[int, int, int] = (40, 20, 40)) -> dict:
    colleges = [
        {"id": "collectivites", "name": {"fr": "Collectivités"},
         "members": {"organisation_kinds": ["local_authority"]}},
        {"id": "habitants", "name": {"fr": "Habitants"},
         "members": {"organisation_kinds": ["inhabitants"]}},
        {"id": "autres", "name": {"fr": "Associations, université, entreprises"},
         "members": {"organisation_kinds": ["university", "company", "association"]}},
    ]  # fmt: skip
    for college, weight in zip(colleges, weights, strict=True):
        college["weight"] = weight
    return {
        "id": "vote-par-colleges",
        "name": {"fr": "Vote par collèges"},
        "steps": [{
            "id": "vote", "kind": "decision", "name": {"fr": "Vote"}, "duration": "P7D",
            "approvals": [{"id": "partners", "approvers": {"roles": ["partner"]},
                           "rule": "majority", "quorum": 0.5, "colleges": colleges}],
        }],
    }  # fmt: skip


def body(partners: int = 5) -> dict:
    launched = project_body(partners, template={"id": "vote-par-colleges"})
    for p in launched["participants"]:
        if p["id"] in KINDS:
            p["organisation_kind"] = KINDS[p["id"]]
    return launched


async def test_weighted_colleges_decide_by_their_weights(http):
    uneven = await http.post("/templates", json=template((30, 30, 30)), headers=COORD)
    assert uneven.status_code == 422
    assert [d["code"] for d in uneven.json()["details"]] == ["weights_sum"]
    created = await http.post("/templates", json=template(), headers=COORD)
    assert created.status_code == 201, created.text

    # Nobody in the "autres" college: refused at launch, saying which college.
    empty = await http.post("/projects", json=body(2), headers=COORD)
    assert empty.status_code == 422 and empty.json()["code"] == "college_empty"
    assert "autres" in empty.json()["message"]

    project = await ApiProject.launch(http, body())
    await project.ok("POST", "/plan", "fac", {"summary": "Ouvrir le jardin le dimanche"})
    for pid, kind in {"p1": "object", "p2": "consent", "p3": "consent", "p4": "consent",
                      "p5": "object"}.items():  # fmt: skip
        await project.ok("PUT", "/answer", pid,
                         {"kind": kind, "reason": "Non" if kind == "object" else None})  # fmt: skip
    view = await project.view()
    (decided,) = view["decisions"]
    (partners,) = decided["approvals"]
    # One voice each, 3 consents of 5 would adopt it; by the weights, 46.7 % do not.
    assert (partners["tally"]["consents"], partners["tally"]["voters"]) == (3, 5)
    assert decided["outcome"] == "not_adopted" and round(partners["weighted"], 3) == 0.467
    assert [(c["college"], c["weight"]) for c in partners["colleges"]] == [
        ("collectivites", "2/5"), ("habitants", "1/5"), ("autres", "2/5")
    ]  # fmt: skip
