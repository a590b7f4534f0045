"""People's contact details on their way in and out: written to the directory before the
workflow hears of an action, left out of what the workflow records, joined back where a person
is shown.

The workflow's records keep the fields (`person_name`, `email`, `webhook_url`) so that a read
can fill them in; what Temporal stores has them empty, always.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, TypeVar

from activities.webhooks import new_secret, refused_address
from api.errors import ApiError
from directory.store import (
    ContactDetails,
    Directory,
    EmailTaken,
    LazyDirectory,
    ParticipantExists,
)
from domain import commands as cmd
from domain.models import Participant
from domain.views import ActionResult, PageData, ProjectView
from settings import Settings

PERSONAL = {"person_name": "", "email": None, "webhook_url": None}
P = TypeVar("P", bound=Any)


def without_person(p: P) -> P:
    """A participant (draft or record) with its personal fields empty."""
    return p.model_copy(update=PERSONAL)


def details_of(pid: str, p: Any) -> ContactDetails:
    return ContactDetails(
        participant_id=pid,
        person_name=p.person_name or "",
        email=p.email,
        webhook_url=p.webhook_url,
    )


def email_taken(e: EmailTaken) -> ApiError:
    # A refusal like the workflow's (409), with the field it is about first.
    return ApiError(
        409,
        "same_email",
        f"email: someone in the project ({e.holder}) already uses the e-mail {e.email}; "
        "one person takes part once",
    )


def invited_id(project_id: str, update_id: str) -> str:
    """The id of an invited participant, from the action's key: a retry gives the same."""
    return "part-" + hashlib.sha256(f"{project_id}\x00{update_id}".encode()).hexdigest()[:8]


@dataclass
class Prepared:
    """An action after the directory's part: the command the workflow may record (None:
    nothing for it to record), whether rows were written for it (withdrawn if the workflow
    refuses), and whether contact details changed."""

    command: cmd.Command | None
    written: bool = False
    contact_changed: bool = False
    # A new webhook's signing secret, for the answer to show once.
    webhook_secret: str | None = None


class Contacts:
    """The directory, opened on first use (the API starts before its database may answer)."""

    def __init__(self, settings: Settings) -> None:
        self._lazy = LazyDirectory(settings.directory_address)
        self.allow_loopback_http = settings.webhooks_allow_loopback_http

    async def directory(self) -> Directory:
        return await self._lazy.get()

    @property
    def lazy(self) -> LazyDirectory:
        return self._lazy

    async def close(self) -> None:
        await self._lazy.close()

    # -- before the workflow -------------------------------------------------------------------

    async def launching(self, spec: Any, write_key: str) -> None:
        directory = await self.directory()
        try:
            await directory.add(
                spec.id,
                [details_of(p.id, p) for p in spec.participants],
                write_key=write_key,
                coordinator_organisation=spec.coordinator_organisation,
            )
        except EmailTaken as e:
            raise email_taken(e) from None

    async def before(self, project_id: str, command: cmd.Command, update_id: str) -> Prepared:
        """The directory's part of an action, before the workflow hears of it."""
        directory = await self.directory()
        try:
            # A newcomer (invited, or replacing someone): its details to the directory, its id
            # from the action's key, its entry in the command without them.
            newcomer_field = {
                cmd.InviteParticipant: "participant",
                cmd.ProposeNewcomer: "participant",
                cmd.ReplaceParticipant: "replacement",
            }.get(type(command))
            if newcomer_field is not None:
                draft = getattr(command, newcomer_field)
                pid = draft.id or invited_id(project_id, update_id)
                await directory.add(project_id, [details_of(pid, draft)], write_key=update_id)
                entry = without_person(draft).model_copy(update={"id": pid})
                return Prepared(command.model_copy(update={newcomer_field: entry}), written=True)
            if isinstance(command, cmd.UpdateMyContact):
                given = command.model_dump(exclude={"actor"}, exclude_none=True)
                changes = {
                    k: (v or None) for k, v in given.items() if k in ("email", "webhook_url")
                }
                current = await directory.contact(project_id, command.actor.participant_id)
                mine = current.model_dump() if current else {}
                changed = {k: v for k, v in changes.items() if mine.get(k) != v}
                secret = None
                if changed.get("webhook_url"):
                    refused = await refused_address(
                        changed["webhook_url"], self.allow_loopback_http
                    )
                    if refused:
                        raise ApiError(
                            422,
                            "webhook_refused",
                            f"this webhook address cannot be used: {refused}",
                        )
                    # A new address, a new secret: shown once, in this answer.
                    secret = changed["webhook_secret"] = new_secret()
                elif "webhook_url" in changed:
                    changed["webhook_secret"] = None
                if changed:
                    await directory.change(project_id, command.actor.participant_id, **changed)
                settings = command.model_copy(update={"email": None, "webhook_url": None})
                # Only contact details changed: the directory holds them, nothing to record.
                has_settings = settings.model_dump(
                    exclude={"actor", "email", "webhook_url"}, exclude_none=True
                )
                return Prepared(
                    settings if has_settings else None,
                    contact_changed=bool(changed),
                    webhook_secret=secret,
                )
        except EmailTaken as e:
            raise email_taken(e) from None
        except ParticipantExists as e:
            raise ApiError(409, "already_exists", str(e)) from None
        except KeyError:
            raise ApiError(
                404, "not_a_participant", "this participant is not in the project"
            ) from None
        return Prepared(command)

    async def after(self, project_id: str, recorded: cmd.Command) -> None:
        """The directory's part of an action the workflow recorded: an erasure's tombstone
        (written after, so a refused erasure erases nothing)."""
        if isinstance(recorded, cmd.EraseParticipant):
            await (await self.directory()).erase(project_id, recorded.participant_id)

    async def withdraw(self, project_id: str, update_id: str) -> None:
        await (await self.directory()).withdraw(project_id, update_id)

    # -- joined back where a person is shown ---------------------------------------------------

    async def of(self, project_id: str) -> dict[str, ContactDetails]:
        return await (await self.directory()).contacts(project_id)

    async def view(self, view: ProjectView) -> ProjectView:
        return _named(view, await self.of(view.id))

    async def participants(self, project_id: str, people: list[Participant]) -> list[Participant]:
        contacts = await self.of(project_id)
        return [_joined(p, contacts.get(p.id)) for p in people]

    async def page(self, data: PageData) -> PageData:
        contacts = await self.of(data.view.id)
        return data.model_copy(
            update={
                "view": _named(data.view, contacts),
                "me": _joined(data.me, contacts.get(data.me.id)),
            }
        )


def with_contacts(event: dict[str, Any], contacts: dict[str, ContactDetails]) -> dict[str, Any]:
    """An event as its project's coordinator reads it: the people it names with their
    details from the directory (the history has none)."""
    data = event["data"]
    people = []
    if data.get("type") == "project_launched":
        people = data["project"]["participants"]
    elif data.get("type") == "participant_invited":
        people = [data["participant"]]
    for p in people:
        found = contacts.get(p["id"])
        if found is not None:
            p.update(
                person_name=found.person_name, email=found.email, webhook_url=found.webhook_url
            )
    return event


def _named(view: ProjectView, contacts: dict[str, ContactDetails]) -> ProjectView:
    """A view with each participant's person named (names only: addresses stay out)."""
    names = {pid: c.person_name for pid, c in contacts.items()}
    people = [
        p.model_copy(update={"person_name": names.get(p.id, p.person_name)})
        for p in view.participants
    ]
    return view.model_copy(update={"participants": people})


def _joined(p: Participant, found: ContactDetails | None) -> Participant:
    if found is None:
        return p
    return p.model_copy(
        update={
            "person_name": found.person_name,
            "email": found.email,
            "webhook_url": found.webhook_url,
            "webhook_disabled": found.webhook_disabled,
        }
    )


def no_action_result(view: ProjectView, changed: bool) -> ActionResult:
    """The answer to a change of contact details alone: the directory holds them, the
    project is as it was (no event)."""
    return ActionResult(
        unchanged=not changed,
        seqs=[],
        phase=view.phase,
        phase_open=view.phase_open,
        round=view.round,
        deadline=view.deadline,
        pending=len(view.pending),
    )


def _mentions(value: Any, pid: str) -> bool:
    """Whether an event's data names this participant (as participant_id, or a participant
    record's id)."""
    if isinstance(value, dict):
        if value.get("participant_id") == pid or value.get("author_id") == pid:
            return True
        if isinstance(value.get("participant"), dict) and value["participant"].get("id") == pid:
            return True
        return any(_mentions(v, pid) for k, v in value.items() if k != "project")
    if isinstance(value, list):
        return any(_mentions(v, pid) for v in value)
    return False


def own_events(events: list[dict[str, Any]], pid: str) -> list[dict[str, Any]]:
    """The events a person's access request covers: those they made and those about them;
    the launch reduced to their own entry (the others in it are not theirs)."""
    mine = []
    for event in events:
        data = event["data"]
        if data.get("type") == "project_launched":
            entry = next((p for p in data["project"]["participants"] if p["id"] == pid), None)
            if entry is not None:
                mine.append({**event, "data": {"type": "project_launched", "participant": entry}})
        elif event.get("actor") == pid or _mentions(data, pid):
            mine.append(event)
    return mine


async def personal_data(gateway: Any, project_id: str, pid: str) -> dict[str, Any]:
    """Everything Alliance holds about one person in one project (the RGPD's access right):
    their directory row, their participant record, the events they made or that name them."""
    directory = await gateway.contacts.directory()
    contact = await directory.contact(project_id, pid)
    people = await gateway.participants(project_id)
    me = next((p for p in people if p.id == pid), None)
    if me is None:
        raise ApiError(404, "not_a_participant", f"no participant {pid!r} in this project")
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = await gateway.events(project_id, after, 1000)
        events += [e.model_dump(mode="json") for e in page]
        if len(page) < 1000:
            break
        after = page[-1].seq
    return {
        "project_id": project_id,
        "participant_id": pid,
        "contact_directory": contact.model_dump() if contact else None,
        "participant": me.model_dump(mode="json"),
        "events": own_events(events, pid),
    }
