"""Launch a realistic project through the API of a running Alliance (./scripts/run) and walk it.

    .venv/bin/python demo.py                     # launch, diagnosis, co-design, up to the decision
    .venv/bin/python demo.py --stop-at closed    # the whole story: an objection, round 2, adopted,
                                                 # implementation, evaluation, the final report

A shared-gardens project in Lyon 8e: the Maison des Associations coordinates, a neutral
facilitator keeps the process fair, the municipality, an inhabitants' association and a
university lab are partners, the Métropole watches as funder. Prints the project's API and
Temporal UI links and each participant's personal token.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import httpx

from settings import Settings, with_local_secrets

ORDER = ["diagnosis", "co_design", "decision", "action", "evaluation", "closed"]
PARTNERS = ["mairie", "habitants", "labo"]

PROJECT = {
    "title": "Jardins partagés du quartier des États-Unis",
    "territory": "Lyon 8e",
    "description": "Transformer deux friches en jardins partagés, conçus avec les habitants.",
    "participants": [
        {
            "id": "mda",
            "organisation_name": "Maison des Associations du 8e",
            "organisation_id": "mda-lyon8",
            "organisation_kind": "association",
            "role": "coordinator",
            "email": "contact@mda8.example",
        },
        {
            "id": "facil",
            "organisation_name": "Coopérative Facil (médiation)",
            "person_name": "Camille Martin",
            "organisation_id": "coop-facil",
            "organisation_kind": "company",
            "role": "facilitator",
            "email": "camille@coop.example",
        },
        {
            "id": "mairie",
            "organisation_name": "Mairie du 8e arrondissement",
            "person_name": "Jean Dupuis",
            "organisation_id": "mairie-lyon8",
            "organisation_kind": "local_authority",
            "role": "partner",
            "email": "dev-local@mairie8.example",
        },
        {
            "id": "habitants",
            "organisation_name": "Association des habitants des États-Unis",
            "person_name": "Nadia Benali",
            "organisation_id": "assoc-etats-unis",
            "organisation_kind": "inhabitants",
            "role": "partner",
            "email": "bureau@habitants.example",
        },
        {
            "id": "labo",
            "organisation_name": "Laboratoire EVS, Université Lyon 2",
            "organisation_id": "univ-lyon2-evs",
            "organisation_kind": "university",
            "role": "partner",
            "language": "en",
            "email": "evs@univ.example",
        },
        {
            "id": "metropole",
            "organisation_name": "Métropole de Lyon",
            "organisation_id": "metropole-lyon",
            "organisation_kind": "public_body",
            "role": "observer",
        },
    ],
    "process": {
        "rule": "consent",
        "max_rounds": 3,
        "diagnosis": {"duration": "P21D", "reminders": ["P7D", "P2D"]},
        "co_design": {"duration": "P28D"},
        "decision": {"duration": "P14D", "reminders": ["P3D"]},
        "action": {"duration": "P90D"},
        "evaluation": {"duration": "P21D"},
    },
}


class Demo:
    def __init__(self, api: httpx.Client, credential: str) -> None:
        self.api = api
        self.credential = credential
        self.tokens: dict[str, str] = {}
        self.project_id = ""

    def call(self, method: str, path: str, who: str, body: Any = None) -> dict[str, Any]:
        token = self.credential if who == "coordinator" else self.tokens[who]
        response = self.api.request(
            method,
            f"/projects/{self.project_id}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code >= 400:
            sys.exit(f"{method} {path} as {who}: {response.status_code} {response.text}")
        return response.json()

    def next_steps(self, settings: Settings, phase: str) -> None:
        base = f"{settings.api_url}/projects/{self.project_id}"
        partner = f'-H "Authorization: Bearer {self.tokens["mairie"]}"'
        print("\nTry it yourself (as the Mairie, a partner):")
        print(f"  in a browser: {settings.api_url}/p/{self.tokens['mairie']}")
        print(f"  curl -s {partner} {base}")
        if phase == "decision":
            print(
                f"  curl -s -X PUT {partner} -H 'Content-Type: application/json' "
                f'-d \'{{"kind": "consent"}}\' {base}/answer'
            )
        elif phase == "diagnosis":
            print(
                f"  curl -s -X POST {partner} -H 'Content-Type: application/json' "
                f'-d \'{{"kind": "need", "text": "Un local pour les outils"}}\' {base}/contributions'
            )
        elif phase == "closed":
            print(f"  curl -s {partner} '{base}/report?format=md'")
        print(f"  (API documentation: {settings.api_url}/docs — 'Authorize' with a token)")

    def launch(self, settings: Settings) -> None:
        response = self.api.post(
            "/projects", json=PROJECT, headers={"Authorization": f"Bearer {self.credential}"}
        )
        if response.status_code != 201:
            sys.exit(f"launch refused: {response.status_code} {response.text}")
        launched = response.json()
        self.project_id = launched["project_id"]
        self.tokens = {p["id"]: p["token"] for p in launched["participants"]}
        print(f"Project launched: {launched['view']['title']}")
        print(f"  API:         {launched['links']['api']}")
        print(f"  Temporal UI: {launched['links']['ui']}")
        print(
            "  Each participant's personal link (open it in a browser: their page, in their language):"
        )
        for p in launched["participants"]:
            who = p["organisation_name"] + (f" ({p['person_name']})" if p["person_name"] else "")
            print(f"    {p['role']:<12} {who:<58} {settings.api_url}/p/{p['token']}")
        print("  (the token at the end of each link also works as 'Authorization: Bearer <token>')")
        if settings.notifications == "email" and settings.mail_catcher:
            print(
                f"  Everyone's mail (invitations, phases, calendar entries): {settings.api_url}/courrier"
            )


def run(stop_at: str) -> None:
    settings = with_local_secrets(Settings())
    credential = next(iter(settings.coordinator_credentials))
    with httpx.Client(base_url=settings.api_url, timeout=30) as api:
        try:
            api.get("/healthz")
        except httpx.HTTPError:
            sys.exit(f"no Alliance API at {settings.api_url}: start it with ./scripts/run")
        demo = Demo(api, credential)
        demo.launch(settings)

        def reached(phase: str) -> bool:
            print(f"→ now in {phase}")
            if ORDER.index(phase) < ORDER.index(stop_at):
                return False
            demo.next_steps(settings, phase)
            return True

        if reached("diagnosis"):
            return

        for pid, kind, text in [
            (
                "mairie",
                "resource",
                "Deux parcelles municipales en friche, rue Garon et rue Bataille",
            ),
            ("habitants", "need", "Des familles sans jardin veulent cultiver et se retrouver"),
            ("labo", "observation", "Sols à analyser : anciens usages industriels possibles"),
        ]:
            result = demo.call("POST", "/contributions", pid, {"kind": kind, "text": text})
        if reached(result["phase"]):
            return
        proposal = demo.call(
            "POST",
            "/proposals",
            "habitants",
            {
                "title": "Deux jardins partagés en bacs",
                "description": "Bacs hors-sol, un composteur collectif, une permanence le samedi.",
                "indicators": [
                    {"name": "Familles inscrites", "target": "40"},
                    {"name": "Ateliers tenus", "target": "12 par an"},
                ],
            },
        )["item_id"]
        demo.call(
            "POST",
            f"/proposals/{proposal}/amendments",
            "labo",
            {"text": "Analyse des sols avant installation"},
        )
        demo.call("POST", f"/proposals/{proposal}/endorsements", "mairie")
        result = demo.call(
            "POST",
            "/plan",
            "facil",
            {"proposal_ids": [proposal], "summary": "Jardins en bacs sur les deux parcelles"},
        )
        if reached(result["phase"]):
            return
        demo.call(
            "PUT",
            "/answer",
            "mairie",
            {"kind": "object", "reason": "La parcelle rue Bataille est réservée à une école"},
        )
        demo.call("PUT", "/answer", "habitants", {"kind": "consent"})
        result = demo.call("PUT", "/answer", "labo", {"kind": "consent"})
        print(f"An objection sent the plan back: round {result['round']}")
        demo.call(
            "POST",
            "/plan",
            "facil",
            {
                "proposal_ids": [proposal],
                "summary": "Un jardin rue Garon, extensible",
                "objection_answers": {"mairie": "Seule la parcelle rue Garon est retenue"},
            },
        )
        for pid in PARTNERS:
            result = demo.call("PUT", "/answer", pid, {"kind": "consent"})
        demo.call("POST", "/outcome", "facil", {"text": "Plan adopté par consentement au 2e tour"})
        if reached(result["phase"]):
            return
        demo.call(
            "POST", "/progress", "habitants", {"text": "30 bacs installés, 38 familles inscrites"}
        )
        result = demo.call("POST", "/close-phase", "facil", {"reason": "Installation terminée"})
        if reached(result["phase"]):
            return
        indicators = demo.call("GET", "", "coordinator")["adopted_plan"]["indicators"]
        for n, pid in enumerate(PARTNERS):
            demo.call(
                "POST",
                "/assessments",
                pid,
                {
                    "scores": [
                        {"indicator_id": i["id"], "score": 3 + n % 3, "comment": "Bonne dynamique"}
                        for i in indicators
                    ]
                },
            )
        for _ in range(100):
            view = demo.call("GET", "", "coordinator")
            if view["phase"] == "closed":
                break
            time.sleep(0.1)
        reached(view["phase"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stop-at", choices=ORDER, default="decision")
    run(parser.parse_args().stop_at)
