"""One Alliance for the resilience tests (`pytest -m resilience` runs them alone), started
as the run command starts it, with a reference project told from end to end without a fault:
how many distinct messages one such project sends."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.resilience.stack import Alliance, Tally, a_decision, launch, settled_count


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.resilience)


@pytest.fixture(scope="package")
def alliance(tmp_path_factory) -> Alliance:
    running = Alliance(tmp_path_factory.mktemp("resilience")).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="package")
async def per_project(alliance: Alliance) -> int:
    """The distinct messages of one project's decision, told with nothing failing."""
    async with httpx.AsyncClient(base_url=alliance.url, timeout=30) as http:
        reference = await launch(http, Tally(), "Référence")
        await a_decision(reference, Tally())
        # The invitations, then each step's news, to the six people with an address.
        return await settled_count(alliance.catcher, reference, 6 + 8)
