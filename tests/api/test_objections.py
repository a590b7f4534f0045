"""Objections weighed under consent, as the issue's users run it over HTTP: the facilitator
judges each objection (valid: it blocks; a concern: it does not), the decision waits for the
judgements, the next plan answers each valid objection (409 naming it otherwise), and the
report and the register say each judgement with its reason."""

from __future__ import annotations

from tests.api.test_cooperation import finish
from tests.api_helpers import ApiProject

PARTNERS = ["p1", "p2", "p3"]


async def test_a_concern_does_not_block_and_a_valid_objection_must_be_answered(http):
    project = await ApiProject.launch(http)
    proposal = await project.to_decision(PARTNERS)
    await project.ok("PUT", "/answer", "p1", {"kind": "object", "reason": "Un risque d'usure"})
    await project.ok("PUT", "/answer", "p2", {"kind": "object", "reason": "Le terrain est pollué"})
    await project.ok("PUT", "/answer", "p3", {"kind": "consent"})
    view = await project.view()
    assert (view["phase"], view["pending"]) == ("decision", ["fac"])  # judgements first
    by_partner = await project.call(
        "PUT", "/objections/p1/judgement", "p2",
        {"judgement": "concern", "harm": False, "known": False, "safe_to_try": True,
         "reason": "x"},
    )  # fmt: skip
    assert by_partner.status_code == 403
    no_reason = await project.call(
        "PUT", "/objections/p1/judgement", "fac",
        {"judgement": "concern", "harm": False, "known": False, "safe_to_try": True},
    )  # fmt: skip
    assert no_reason.status_code == 422
    nothing = await project.call(
        "PUT", "/objections/p3/judgement", "fac",
        {"judgement": "valid", "harm": True, "known": True, "safe_to_try": False, "reason": "x"},
    )  # fmt: skip
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_such_objection"
    await project.judge("p1", "concern", "Une usure à suivre, pas un tort : essayons")
    result = await project.judge("p2", "valid", "Un tort avéré pour la santé des enfants")
    assert (result["phase"], result["round"]) == ("co_design", 2)
    view = await project.view()
    (decided,) = view["decisions"]
    assert decided["outcome"] == "not_adopted"
    assert decided["objections"] == {"p2": "Le terrain est pollué"}
    assert decided["concerns"] == {"p1": "Un risque d'usure"}
    assert view["objections_to_answer"] == {"p2": "Le terrain est pollué"}

    unanswered = await project.call(
        "POST", "/plan", "fac", {"proposal_ids": [proposal], "summary": "Le même plan"}
    )
    assert unanswered.status_code == 409
    assert unanswered.json()["code"] == "objection_unanswered" and "p2" in unanswered.text
    await project.ok(
        "POST", "/plan", "fac",
        {"proposal_ids": [proposal], "summary": "Des bacs hors-sol",
         "objection_answers": {"p2": "Des bacs hors-sol, loin du sol pollué"}},
    )  # fmt: skip
    # Round 2: a concern alone lets the consent decision be adopted.
    await project.ok("PUT", "/answer", "p1", {"kind": "object", "reason": "L'arrosage l'été"})
    await project.ok("PUT", "/answer", "p2", {"kind": "consent"})
    await project.ok("PUT", "/answer", "p3", {"kind": "consent"})
    result = await project.judge("p1", "concern", "À vérifier à l'évaluation")
    assert result["phase"] == "action"
    view = await project.view()
    assert view["decisions"][-1]["outcome"] == "adopted"
    assert view["decisions"][-1]["tally"]["concerns"] == 1
    assert [c["objection"] for c in view["concerns_to_check"]] == ["L'arrosage l'été"]

    await project.ok("POST", "/close-phase", "fac", {"reason": "fini"})
    report = (await finish(project)).replace("\\", "")  # Markdown's escapes aside
    assert "Jugée comme une préoccupation (elle ne bloque pas)\u00a0: Une usure à suivre" in report
    assert "Jugée valable (la proposition doit changer)\u00a0: Un tort avéré" in report
    register = await project.call("GET", "/decisions?format=excel", "coordinator-credential")
    assert "Un tort avéré pour la santé des enfants" in register.content.decode("utf-8-sig")
