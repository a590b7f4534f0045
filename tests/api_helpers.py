"""Driving the API as a coordinator's program and partners' browsers would."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import COORDINATOR_CREDENTIAL


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


COORD = bearer(COORDINATOR_CREDENTIAL)


def project_body(partners: int = 3, **kw: Any) -> dict[str, Any]:
    participants = [
        {
            "id": "coord",
            "organisation_name": "Maison des Associations du 8e",
            "organisation_id": "mda-lyon8",
            "organisation_kind": "association",
            "role": "coordinator",
        },
        {
            "id": "fac",
            "organisation_name": "Camille Martin",
            "organisation_id": "coop-facil",
            "role": "facilitator",
        },
        {
            "id": "obs",
            "organisation_name": "Métropole de Lyon",
            "organisation_id": "metropole",
            "organisation_kind": "public_body",
            "role": "observer",
        },
    ] + [
        {
            "id": f"p{n}",
            "organisation_name": f"Partenaire {n}",
            "organisation_id": f"org-{n}",
            "organisation_kind": "inhabitants",
            "role": "partner",
            "email": f"p{n}@example.org",
        }
        for n in range(1, partners + 1)
    ]
    return {
        "title": kw.pop("title", "Jardins partagés"),
        "territory": kw.pop("territory", "Lyon 8e"),
        "participants": participants,
        **kw,
    }


def addressed_body(partners: int = 3, **kw: Any) -> dict[str, Any]:
    """A launch where everyone has an e-mail address (`id@example.org`)."""
    body = project_body(partners, **kw)
    for p in body["participants"]:
        p["email"] = f"{p['id']}@example.org"
    return body


class ApiProject:
    def __init__(self, http: httpx.AsyncClient, launched: dict[str, Any]) -> None:
        self.http = http
        self.id: str = launched["project_id"]
        self.tokens: dict[str, str] = {p["id"]: p["token"] for p in launched["participants"]}
        self.launched = launched

    @classmethod
    async def launch(
        cls,
        http: httpx.AsyncClient,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiProject:
        response = await http.post(
            "/projects", json=body or project_body(), headers=headers or COORD
        )
        assert response.status_code == 201, response.text
        return cls(http, response.json())

    def auth(self, who: str) -> dict[str, str]:
        return COORD if who == "coordinator-credential" else bearer(self.tokens[who])

    async def call(
        self, method: str, path: str, who: str, json: Any = None, key: str | None = None
    ) -> httpx.Response:
        headers = self.auth(who)
        if key:
            headers = {**headers, "Idempotency-Key": key}
        return await self.http.request(
            method, f"/projects/{self.id}{path}", json=json, headers=headers
        )

    async def ok(
        self, method: str, path: str, who: str, json: Any = None, key: str | None = None
    ) -> dict[str, Any]:
        response = await self.call(method, path, who, json, key)
        assert response.status_code in (200, 201), f"{method} {path} as {who}: {response.text}"
        return response.json()

    async def judge(
        self, pid: str, judgement: str = "valid", reason: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        """The facilitator judges a partner's objection (a consent decision waits for it)."""
        valid = judgement == "valid"
        body = {"judgement": judgement, "harm": valid, "known": valid, "safe_to_try": not valid,
                "reason": reason or ("Un tort avéré" if valid else "À vérifier"), **kw}  # fmt: skip
        return await self.ok("PUT", f"/objections/{pid}/judgement", "fac", body)

    async def view(self, who: str = "coordinator-credential") -> dict[str, Any]:
        return await self.ok("GET", "", who)

    async def wait_for_report(self, seconds: float = 10) -> str:
        """The final report in Markdown, once published (by an activity, as the project
        closes)."""
        for _ in range(int(seconds / 0.05)):
            if (await self.view())["phase"] == "closed":
                break
            await asyncio.sleep(0.05)
        response = await self.call("GET", "/report?format=md", "coordinator-credential")
        assert response.status_code == 200, response.text
        return response.text

    async def to_decision(self, partners: list[str]) -> str:
        for pid in partners:
            await self.ok(
                "POST", "/contributions", pid, {"kind": "need", "text": f"besoin de {pid}"}
            )
        proposal = (
            await self.ok(
                "POST",
                "/proposals",
                partners[0],
                {
                    "title": "Jardin rue Garon",
                    "description": "Des bacs hors-sol",
                    "indicators": [{"name": "Familles inscrites", "target": "40"}],
                },
            )
        )["item_id"]
        await self.ok("POST", "/plan", "fac", {"proposal_ids": [proposal], "summary": "Plan"})
        return proposal
