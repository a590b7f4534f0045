"""Ops find projects by search attribute, through the Temporal client, on the dev server."""

from __future__ import annotations

import asyncio
import uuid

from tests.helpers import Driver, make_spec
from workflows import search_attributes as sa


async def list_ids(client, query: str) -> set[str]:
    return {w.id async for w in client.list_workflows(query)}


async def eventually(client, query: str, expected: set[str]) -> set[str]:
    found: set[str] = set()
    for _ in range(50):  # visibility is eventually consistent
        found = await list_ids(client, query)
        if found == expected:
            return found
        await asyncio.sleep(0.1)
    return found


async def test_projects_are_listed_by_phase_territory_and_coordinator(dev):
    territory = f"Quartier {uuid.uuid4().hex[:6]}"
    waiting = await Driver.start(dev.client, make_spec(2, territory=territory), dev.task_queue)
    deciding = await Driver.start(dev.client, make_spec(2, territory=territory), dev.task_queue)
    await deciding.contribute_all(["p1", "p2"])
    await deciding.plan([await deciding.propose("p1")])
    await deciding.answer("p1")

    in_territory = f'AllianceTerritory = "{territory}"'
    assert await eventually(
        dev.client, f'AlliancePhase = "decision" AND {in_territory}', {deciding.handle.id}
    ) == {deciding.handle.id}
    assert await eventually(
        dev.client, f'AlliancePhase = "diagnosis" AND {in_territory}', {waiting.handle.id}
    ) == {waiting.handle.id}
    both = {waiting.handle.id, deciding.handle.id}
    assert (
        await eventually(dev.client, f'AllianceCoordinator = "mda-lyon8" AND {in_territory}', both)
        == both
    )
    assert await eventually(
        dev.client,
        f"AlliancePending = 1 AND AllianceRound = 1 AND {in_territory}",
        {deciding.handle.id},
    ) == {deciding.handle.id}

    described = await deciding.handle.describe()
    attrs = described.typed_search_attributes
    assert attrs.get(sa.PHASE) == "decision" and attrs.get(sa.DEADLINE) is not None
    # No personal data in search attributes: names and emails of participants never appear.
    assert not any("@" in str(pair.value) or "Partner" in str(pair.value) for pair in attrs)
    assert await described.static_summary() == "Jardins partagés du 8e"


async def test_a_new_project_needs_no_upsert_its_starter_set_them_all(dev):
    d = await Driver.start(dev.client, make_spec(2), dev.task_queue)
    view = await d.view()  # the first workflow task ran
    history = await d.handle.fetch_history()
    upserted = {
        name
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
        for name in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    }
    # None of Alliance's: one main loop, everything set at start. Only the SDK's own for the
    # patch its first batch of messages takes (1.1 tells them at once).
    assert upserted == {"TemporalChangeVersion"}
    attrs = (await d.handle.describe()).typed_search_attributes
    assert attrs.get(sa.PENDING) == 2 and attrs.get(sa.PHASE) == "diagnosis"
    assert attrs.get(sa.DEADLINE) == view.deadline.replace(second=0, microsecond=0)


async def test_ops_find_the_step_a_template_is_at(dev):
    """AllianceStep names the step (its id), AlliancePhase its kind: two decision steps of a
    call for projects are told apart, and the details line names the step."""
    from process_templates.builtin import builtin, launched

    territory = f"Quartier {uuid.uuid4().hex[:6]}"
    spec = make_spec(3, territory=territory, template=launched(builtin("appel-a-projets", 1)))
    d = await Driver.start(dev.client, spec, dev.task_queue)
    in_territory = f'AllianceTerritory = "{territory}"'
    assert await eventually(
        dev.client, f'AllianceStep = "diagnosis" AND {in_territory}', {d.handle.id}
    ) == {d.handle.id}  # set by the starter
    await d.contribute_all(["p1", "p2", "p3"])
    await d.plan([await d.propose("p1")])
    query = f'AlliancePhase = "decision" AND AllianceStep = "budget" AND {in_territory}'
    assert await eventually(dev.client, query, {d.handle.id}) == {d.handle.id}
    await d.answer("p1")  # the local authority approves the budget
    query = f'AlliancePhase = "decision" AND AllianceStep = "decision" AND {in_territory}'
    assert await eventually(dev.client, query, {d.handle.id}) == {d.handle.id}
