"""Launch a realistic project through the API of a running Alliance (./scripts/run) and walk it.

    .venv/bin/python demo.py                     # launch, diagnosis, co-design, up to the decision
    .venv/bin/python demo.py --stop-at closed    # the whole story: an objection, round 2, adopted,
                                                 # implementation, evaluation, the conclusion, the
                                                 # final report
    .venv/bin/python demo.py --lang en           # the same project, run and told in English
    .venv/bin/python demo.py --stop-at closed --template appel-a-projets
                                                 # as a call for projects: the municipality
                                                 # approves the budget, then the partners decide

A shared-gardens project in Lyon 8e: the Maison des Associations coordinates, a neutral
facilitator keeps the process fair, the municipality, an inhabitants' association and a
university lab are partners, the Métropole watches as funder. Speaks the project's language
(French unless --lang en), through the same catalogues as the pages; prints the project's
links and each participant's personal link.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import httpx

from settings import Settings, with_local_secrets
from texts import words
from texts.i18n import Texts, texts

ORDER = ["diagnosis", "co_design", "decision", "action", "evaluation", "closed"]
PARTNERS = ["mairie", "habitants", "labo"]

# What the partners write, in the project's language.
WRITTEN = {
    "fr": {
        "title": "Jardins partagés du quartier des États-Unis",
        "description": "Transformer deux friches en jardins partagés, conçus avec les habitants.",
        "contributions": [
            (
                "mairie",
                "resource",
                "Deux parcelles municipales en friche, rue Garon et rue Bataille",
            ),
            ("habitants", "need", "Des familles sans jardin veulent cultiver et se retrouver"),
            ("labo", "observation", "Sols à analyser : anciens usages industriels possibles"),
        ],
        "proposal": "Deux jardins partagés en bacs",
        "proposal_text": "Bacs hors-sol, un composteur collectif, une permanence le samedi.",
        "indicators": [("Familles inscrites", "40"), ("Ateliers tenus", "12 par an")],
        "amendment": "Analyse des sols avant installation",
        "plan": "Jardins en bacs sur les deux parcelles",
        "objection": "La parcelle rue Bataille est réservée à une école",
        "judgement": "Un tort avéré : le plan doit changer de parcelle",
        "plan_2": "Un jardin rue Garon, extensible",
        "answer": "Seule la parcelle rue Garon est retenue",
        "outcome": "Plan adopté par consentement au 2e tour",
        "progress": "30 bacs installés, 38 familles inscrites",
        "closing": "Installation terminée",
        "comment": "Bonne dynamique",
        "conclusion": "Le jardin de la rue Garon vit : 38 familles, un atelier par mois. "
        "À étendre à la rue Bataille quand l'école aura déménagé.",
        "try_text": "Un local pour les outils",
    },
    "en": {
        "title": "Shared gardens in the États-Unis district",
        "description": "Turning two wastelands into shared gardens, designed with the residents.",
        "contributions": [
            ("mairie", "resource", "Two unused council plots, rue Garon and rue Bataille"),
            ("habitants", "need", "Families without a garden want to grow food and meet"),
            ("labo", "observation", "Soils to analyse: possible former industrial uses"),
        ],
        "proposal": "Two shared gardens in raised beds",
        "proposal_text": "Raised beds, a shared compost bin, open hours on Saturdays.",
        "indicators": [("Families enrolled", "40"), ("Workshops held", "12 a year")],
        "amendment": "Analyse the soils before installing",
        "plan": "Raised-bed gardens on both plots",
        "objection": "The rue Bataille plot is reserved for a school",
        "judgement": "A known harm: the plan must move to another plot",
        "plan_2": "One garden rue Garon, to be extended",
        "answer": "Only the rue Garon plot is kept",
        "outcome": "Plan adopted by consent in round 2",
        "progress": "30 beds installed, 38 families enrolled",
        "closing": "Installation finished",
        "comment": "Good momentum",
        "conclusion": "The rue Garon garden lives: 38 families, a workshop a month. "
        "To be extended to rue Bataille once the school has moved.",
        "try_text": "A shed for the tools",
    },
}

PROJECT = {
    "title": WRITTEN["fr"]["title"],
    "territory": "Lyon 8e",
    "description": WRITTEN["fr"]["description"],
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
    def __init__(self, api: httpx.Client, credential: str, t: Texts) -> None:
        self.api = api
        self.credential = credential
        self.t = t
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
            sys.exit(
                self.t.gettext(
                    "%(method)s %(path)s refused (%(status)s): %(answer)s",
                    method=method,
                    path=path,
                    status=str(response.status_code),
                    answer=response.text,
                )  # fmt: skip
            )
        return response.json()

    def next_steps(self, settings: Settings, phase: str) -> None:
        _ = self.t.gettext
        base = f"{settings.api_url}/projects/{self.project_id}"
        partner = f'-H "Authorization: Bearer {self.tokens["mairie"]}"'
        print("\n" + _("Try it yourself, as the municipality (a partner):"))
        link = f"{settings.api_url}/p/{self.tokens['mairie']}"
        print("  " + _("in a browser: %(link)s", link=link))
        print(f"  curl -s {partner} {base}")
        if phase == "decision":
            print(
                f"  curl -s -X PUT {partner} -H 'Content-Type: application/json' "
                f'-d \'{{"kind": "consent"}}\' {base}/answer'
            )
        elif phase == "diagnosis":
            text = WRITTEN[self.t.language]["try_text"]
            print(
                f"  curl -s -X POST {partner} -H 'Content-Type: application/json' "
                f'-d \'{{"kind": "need", "text": "{text}"}}\' {base}/contributions'
            )
        elif phase == "closed":
            print(f"  curl -s {partner} '{base}/report?format=md'")
            print(f"  curl -s {partner} -o registre.csv '{base}/decisions?format=excel'")
        print(
            "  "
            + _(
                "(the API's documentation: %(link)s, “Authorize” with a token)",
                link=settings.api_url + "/docs",
            )
        )

    def launch(self, settings: Settings, template: str | None = None) -> None:
        _ = self.t.gettext
        written = WRITTEN[self.t.language]
        body = {
            **PROJECT,
            "title": written["title"],
            "description": written["description"],
            "language": self.t.language,
        }
        if template is not None:
            # A template's steps carry their own settings: no process beside it.
            del body["process"]
            body["template"] = {"id": template}
        response = self.api.post(
            "/projects", json=body, headers={"Authorization": f"Bearer {self.credential}"}
        )
        if response.status_code != 201:
            sys.exit(_("The launch was refused (%(status)s): %(answer)s",
                       status=str(response.status_code), answer=response.text))  # fmt: skip
        launched = response.json()
        self.project_id = launched["project_id"]
        self.tokens = {p["id"]: p["token"] for p in launched["participants"]}
        print(_("Project launched: %(title)s", title=launched["view"]["title"]))
        print("  " + _("Its API: %(link)s", link=launched["links"]["api"]))
        print(
            "  " + _("Its history, for ops (Temporal UI): %(link)s", link=launched["links"]["ui"])
        )
        print(
            "  "
            + _(
                "Each participant's personal link (open it in a browser: their page, in their language):"
            )
        )
        for p in launched["participants"]:
            who = p["organisation_name"] + (f" ({p['person_name']})" if p["person_name"] else "")
            role = _(words.ROLES[p["role"]])
            print(f"    {role:<14} {who:<58} {settings.api_url}/p/{p['token']}")
        print(
            "  "
            + _("(the end of each link, its token, also works as a “Bearer” token for the API)")
        )
        if settings.notifications == "email" and settings.mail_catcher:
            mailbox = settings.api_url + "/courrier"
            print(
                "  "
                + _(
                    "Everyone's mail (invitations, phases, calendar entries): %(link)s",
                    link=mailbox,
                )
            )


def run(stop_at: str, language: str, template: str | None = None) -> None:
    t = texts(language, "Europe/Paris")
    _ = t.gettext
    written = WRITTEN[t.language]
    settings = with_local_secrets(Settings())
    credential = next(iter(settings.coordinator_credentials))
    with httpx.Client(base_url=settings.api_url, timeout=30) as api:
        try:
            api.get("/healthz")
        except httpx.HTTPError:
            sys.exit(_("No Alliance is answering at %(address)s: start it with ./scripts/run",
                       address=settings.api_url))  # fmt: skip
        demo = Demo(api, credential, t)
        demo.launch(settings, template)
        if template is not None:
            # Version 2 of a built-in template opens on the partnership charter: the
            # facilitator writes it from the model, and every partner consents.
            model = demo.call("GET", "/charter", "facil")["model"]
            demo.call("POST", "/charter", "facil", {"sections": model})
            for pid in PARTNERS:
                demo.call("PUT", "/answer", pid, {"kind": "consent"})
            print(_("The partnership charter is adopted by the consent of every partner"))

        def reached(phase: str) -> bool:
            print("→ " + _("now: %(phase)s", phase=_(words.PHASES[phase])))
            if ORDER.index(phase) < ORDER.index(stop_at):
                return False
            demo.next_steps(settings, phase)
            return True

        if reached("diagnosis"):
            return

        for pid, kind, text in written["contributions"]:
            result = demo.call("POST", "/contributions", pid, {"kind": kind, "text": text})
        if reached(result["phase"]):
            return
        proposal = demo.call(
            "POST",
            "/proposals",
            "habitants",
            {
                "title": written["proposal"],
                "description": written["proposal_text"],
                "indicators": [{"name": n, "target": tg} for n, tg in written["indicators"]],
            },
        )["item_id"]
        demo.call(
            "POST", f"/proposals/{proposal}/amendments", "labo", {"text": written["amendment"]}
        )
        demo.call("POST", f"/proposals/{proposal}/endorsements", "mairie")
        result = demo.call(
            "POST", "/plan", "facil", {"proposal_ids": [proposal], "summary": written["plan"]}
        )
        if reached(result["phase"]):
            return
        if template == "appel-a-projets":
            # The municipality, the one local authority, approves the budget first (alone).
            result = demo.call(
                "PUT", "/answer", "mairie", {"kind": "object", "reason": written["objection"]}
            )
        else:
            demo.call(
                "PUT", "/answer", "mairie", {"kind": "object", "reason": written["objection"]}
            )
            demo.call("PUT", "/answer", "habitants", {"kind": "consent"})
            result = demo.call("PUT", "/answer", "labo", {"kind": "consent"})
        # Under consent, the facilitator weighs the objection: valid, it sends the plan back.
        judged = {"judgement": "valid", "harm": True, "known": True, "safe_to_try": False,
                  "reason": written["judgement"]}  # fmt: skip
        result = demo.call("PUT", "/objections/mairie/judgement", "facil", judged)
        print(_("An objection sent the plan back: now the %(round)s",
                round=words.round_name(t, result["round"])))  # fmt: skip
        demo.call(
            "POST",
            "/plan",
            "facil",
            {
                "proposal_ids": [proposal],
                "summary": written["plan_2"],
                "objection_answers": {"mairie": written["answer"]},
            },
        )
        if template == "appel-a-projets":
            demo.call("PUT", "/answer", "mairie", {"kind": "consent"})  # the budget approved
            print(_("The budget approved: now every partner decides"))
        for pid in PARTNERS:
            result = demo.call("PUT", "/answer", pid, {"kind": "consent"})
        demo.call("POST", "/outcome", "facil", {"text": written["outcome"]})
        if reached(result["phase"]):
            return
        demo.call("POST", "/progress", "habitants", {"text": written["progress"]})
        result = demo.call("POST", "/close-phase", "facil", {"reason": written["closing"]})
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
                        {"indicator_id": i["id"], "score": 3 + n % 3, "comment": written["comment"]}
                        for i in indicators
                    ]
                },
            )
        # Every partner assessed: the facilitator's conclusion closes the evaluation.
        print(_("Every partner assessed the results: the facilitator writes the conclusion"))
        demo.call("POST", "/outcome", "facil", {"text": written["conclusion"]})
        for _attempt in range(100):
            view = demo.call("GET", "", "coordinator")
            if view["phase"] == "closed":
                break
            time.sleep(0.1)
        reached(view["phase"])
        if view["phase"] == "closed":
            print(
                _(
                    "The final report is on every participant's page (their personal link above), with the decision register for a spreadsheet."
                )
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stop-at", choices=ORDER, default="decision")
    parser.add_argument("--lang", choices=("fr", "en"), default="fr",
                        help="the project's language, which the demo speaks (default: fr)")  # fmt: skip
    parser.add_argument("--template", choices=("appel-a-projets",), default=None,
                        help="run the project from this built-in template (default: "
                        "co-construction, tuned by its process)")  # fmt: skip
    arguments = parser.parse_args()
    run(arguments.stop_at, arguments.lang, arguments.template)
