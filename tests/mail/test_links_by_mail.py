"""Links sent by e-mail from the sign-in page: a participant's personal link again, and a
coordinator's sign-in link. The same answer whether or not the address is known."""

from __future__ import annotations

import re

from tests.api_helpers import ApiProject
from tests.conftest import MAIL_SITE, Mailing
from tests.mail.test_mail_delivery import everyone_with_an_address, of_kind, open_link, text_of


async def form(mailing: Mailing, path: str, field: str, email: str):
    page = await mailing.http.get("/connexion")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await mailing.http.post(path, data={"csrf_token": csrf, field: email})


async def test_send_me_my_link_again(mailing: Mailing):
    project = await ApiProject.launch(mailing.http, everyone_with_an_address())
    await mailing.wait_for(lambda ms: len(ms) >= 6)
    known = await form(mailing, "/connexion/lien-personnel", "participant_email", "P2@Example.org")
    unknown = await form(
        mailing, "/connexion/lien-personnel", "participant_email", "nobody@example.org"
    )
    # The same page for both: it tells nothing of who takes part.
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text and "Consultez vos courriels" in known.text

    messages = await mailing.wait_for(lambda ms: of_kind(ms, "Votre lien personnel"))
    asked = of_kind(messages, "Votre lien personnel")
    assert set(asked) == {"p2"}
    assert "Vous avez demandé votre lien personnel" in text_of(asked["p2"])
    link = re.search(rf"{re.escape(MAIL_SITE)}/p/\S+", text_of(asked["p2"])).group(0)
    page = await open_link(mailing.http, link)
    assert page.status_code == 200 and "Partenaire 2" in page.text
    assert f"/projets/{project.id}" in str(page.url)
    assert not [m for m in mailing.messages() if "nobody" in str(m["To"])]

    # A few requests per address in a quarter of an hour, known or not.
    for email in ("P2@Example.org", "nobody@example.org"):
        for _ in range(2):
            await form(mailing, "/connexion/lien-personnel", "participant_email", email)
        limited = await form(mailing, "/connexion/lien-personnel", "participant_email", email)
        assert limited.status_code == 429 and "Trop de demandes" in limited.text

    not_an_address = await form(mailing, "/connexion/lien-personnel", "participant_email", "p2")
    assert not_an_address.status_code == 422 and "nom@example.org" in not_an_address.text


async def test_a_coordinator_signs_in_by_an_emailed_link(mailing: Mailing):
    http = mailing.http
    listed = await form(
        mailing, "/connexion/lien-console", "coordinator_email", "coordination@mda8.example"
    )
    unlisted = await form(
        mailing, "/connexion/lien-console", "coordinator_email", "someone@mda8.example"
    )
    assert listed.status_code == unlisted.status_code == 200 and listed.text == unlisted.text

    messages = await mailing.wait_for(lambda ms: of_kind(ms, "lien de connexion"))
    assert [str(m["To"]) for m in messages] == ["coordination@mda8.example"]
    link = re.search(
        rf"{re.escape(MAIL_SITE)}/connexion/lien-console/\S+", text_of(messages[0])
    ).group(0)

    # Opening the link signs no one in (a mail scanner may open it); its button does.
    http.cookies.clear()
    page = await http.get(link)
    assert page.status_code == 200 and "mda-lyon8" in page.text
    assert (await http.get("/console")).status_code == 303
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    signed = await http.post(link, data={"csrf_token": csrf})
    assert signed.status_code == 303 and signed.headers["location"] == "/console"
    assert (await http.get("/console")).status_code == 200

    # Once only.
    http.cookies.clear()
    again = await http.get(link)
    assert again.status_code == 400 and "déjà servi" in again.text


async def test_a_resent_link_is_emailed_and_the_old_one_stops_working(mailing: Mailing):
    project = await ApiProject.launch(mailing.http, everyone_with_an_address())
    messages = await mailing.wait_for(lambda ms: len(ms) >= 6)
    old = re.search(
        rf"{re.escape(MAIL_SITE)}/p/\S+",
        text_of(of_kind(messages, "Invitation à participer")["p3"]),
    ).group(0)
    await project.ok("POST", "/participants/p3/link", "coordinator-credential")
    messages = await mailing.wait_for(lambda ms: of_kind(ms, "Votre lien personnel"))
    resent = of_kind(messages, "Votre lien personnel")
    assert set(resent) == {"p3"} and "Le lien précédent ne fonctionne plus" in text_of(resent["p3"])
    new = re.search(rf"{re.escape(MAIL_SITE)}/p/\S+", text_of(resent["p3"])).group(0)
    assert new != old
    assert (await open_link(mailing.http, new)).status_code == 200
    assert (await open_link(mailing.http, old)).status_code == 403


async def test_the_mail_page_is_for_this_machine_only(mailing: Mailing):
    await ApiProject.launch(mailing.http, everyone_with_an_address())
    await mailing.wait_for(lambda ms: len(ms) >= 6)
    page = await mailing.http.get("/courrier")
    assert page.status_code == 200 and "Invitation à participer au projet" in page.text
    name = re.search(r'href="/courrier/([^"]+)"', page.text).group(1)
    shown = await mailing.http.get(f"/courrier/{name}/html")
    assert "sandbox" in shown.headers["content-security-policy"]
    # Each calendar entry opens in this machine's calendar application.
    ics = re.search(r'href="(/courrier/[^"]+/agenda\.ics)"', page.text).group(1)
    entry = await mailing.http.get(ics)
    assert entry.status_code == 200 and entry.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in entry.text and "METHOD:REQUEST" in entry.text
    # The same loopback connection under another name: a proxy, a tunnel, a rebinding page.
    for path in ("/courrier", f"/courrier/{name}", f"/courrier/{name}/html", ics):
        response = await mailing.http.get(path, headers={"Host": "alliance.example.org"})
        assert (
            response.status_code == 404 and "Invitation à participer au projet" not in response.text
        )


async def test_one_click_unsubscribe_switches_to_the_essentials_and_a_get_changes_nothing(
    mailing: Mailing,
):
    http = mailing.http
    project = await ApiProject.launch(http, everyone_with_an_address())
    messages = await mailing.wait_for(lambda ms: len(ms) >= 6)
    invitation = of_kind(messages, "Invitation à participer")["p1"]
    # RFC 8058: the address, and the one-click POST the mail client may send.
    assert invitation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    address = str(invitation["List-Unsubscribe"]).strip("<>")
    assert address.startswith(f"{MAIL_SITE}/desabonnement/") and address in text_of(invitation)

    before = await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential")
    http.cookies.clear()
    page = await http.get(address)
    assert page.status_code == 200 and "Ne recevoir que l’essentiel" in page.text
    after = await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential")
    assert after["events"] == before["events"]  # a GET changes nothing

    # The mail client's POST: no cookie, no CSRF token, the signed address alone.
    done = await http.post(address, content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert (
        done.status_code == 200
        and "désormais, vous ne recevez de ce projet que l’essentiel" in done.text
    )
    events = (await project.ok("GET", "/events?after=0&limit=1000", "coordinator-credential"))[
        "events"
    ]
    recorded = [e["data"] for e in events if e["data"]["type"] == "participant_updated"]
    assert recorded == [
        {
            "type": "participant_updated",
            "participant_id": "p1",
            "changes": {"notifications": "essentials"},
        }
    ]
    me = next(p for p in (await project.view())["participants"] if p["id"] == "p1")
    assert me["notifications"] == "essentials"

    # The diagnosis closes and co-design opens: not essential, so not to p1.
    for pid in ("p1", "p2", "p3"):
        await project.ok("POST", "/contributions", pid, {"kind": "need", "text": f"besoin {pid}"})
    messages = await mailing.wait_for(lambda ms: len(of_kind(ms, "Co-conception")) >= 4)
    assert "p1" not in of_kind(messages, "Co-conception") and "p2" in of_kind(
        messages, "Co-conception"
    )
    forged = await http.post(address[:-3] + "xyz", content=b"List-Unsubscribe=One-Click")
    assert forged.status_code == 404
