"""Reading a reply: the first word decides, the rest is the reason; quoted history and
signatures are stripped (French and English clients, Outlook, HTML); machines' mail is never an
answer. A fuzzing test: no crash, and nothing understood that was not asked."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.models import AnswerKind
from inbound.reading import WORDS, _folded, automatic, read, read_text


def mail(body: str, subtype: str = "plain", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "tresoriere@asso-quartier.fr"
    message["Subject"] = headers.pop("Subject", "Re: [Jardins] Décision : votre réponse")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, subtype=subtype)
    return message


def test_the_first_word_decides_and_the_rest_is_the_reason():
    reading = read_text("NON, le budget ne couvre pas l'animation\n\nLe Mar. 1 déc. 2026 à 10:00, "
                        "Alliance <reponse+abc@alliance.test> a écrit :\n> Votre réponse")  # fmt: skip
    assert (reading.kind, reading.reason) == (
        AnswerKind.object,
        "le budget ne couvre pas l'animation",
    )
    assert read_text("  oui  \n\nMerci !\n-- \nMarie, trésorière").kind == AnswerKind.consent
    assert read_text("Oui\nMerci !").reason == "Merci !"
    assert read_text("Abstention.").kind == AnswerKind.abstain
    assert (
        read_text("yes").kind == AnswerKind.consent
        and read_text("No: too costly").reason == "too costly"
    )
    assert read_text("CONSENS").kind == AnswerKind.consent
    assert read_text("Objection : trop cher\npour nous").reason == "trop cher\npour nous"


def test_what_is_not_understood_is_said_not_guessed():
    assert read_text("NON").problem == "reason_required"
    assert read_text("Peut-être, je vais voir").problem == "unknown_word"
    assert read_text("\n\n> NON, cité\n").problem == "empty"
    assert read_text("Nonobstant tout cela").problem == "unknown_word"
    assert read_text("OUI " + "x" * 2100).problem == "reason_too_long"


def test_quoted_history_and_signatures_are_stripped():
    outlook = ("NON parce que la salle est prise\n\n________________________________\n"
               "De : Alliance <alliance@localhost>\nEnvoyé : mardi 1 décembre 2026 10:00\n"
               "À : Marie\nObjet : [Jardins] Décision\n\nOUI")  # fmt: skip
    assert read_text(outlook).reason == "parce que la salle est prise"
    two_lines = (
        "Oui d'accord\nLe mar. 1 déc. 2026 à 10:00, Alliance <alliance@localhost>\na écrit :\n> NON"
    )
    assert read_text(two_lines).reason == "d'accord"
    iphone = "NON trop tôt\n\nEnvoyé de mon iPhone\n\n> Le plan"
    assert read_text(iphone).reason == "trop tôt"
    english = "Yes\n\nOn Tue, Dec 1, 2026 at 10:00 AM Alliance wrote:\n> NO"
    assert (read_text(english).kind, read_text(english).reason) == (AnswerKind.consent, "")
    original = "Abstention\n-----Message d'origine-----\nNON"
    assert read_text(original).kind == AnswerKind.abstain


def test_an_html_only_reply_is_read_without_its_blockquote():
    html = ("<div dir='ltr'>NON,&nbsp;le budget<br>ne suffit pas</div><div class='gmail_quote'>"
            "<div>Le mar. a écrit :</div><blockquote>OUI</blockquote></div>")  # fmt: skip
    reading = read(mail(html, "html"))
    assert (reading.kind, reading.reason) == (AnswerKind.object, "le budget\nne suffit pas")
    assert read(mail("<p>Oui</p><blockquote><p>NON, cité</p></blockquote>", "html")).reason == ""


def test_machines_mail_is_never_an_answer():
    assert automatic(mail("OUI", Auto_Submitted="auto-replied"))
    assert automatic(mail("OUI", X_Autoreply="yes"))
    assert automatic(mail("OUI", Precedence="bulk"))
    assert automatic(mail("Je suis absente", Subject="Réponse automatique : [Jardins] Décision"))
    assert automatic(mail("Out", Subject="Absence du bureau"))
    assert automatic(mail("OUI"), envelope_sender="")
    report = message_from_bytes(
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nOUI\r\n--b--\r\n",
        policy=policy.default,
    )
    assert automatic(report)
    assert not automatic(mail("OUI", Auto_Submitted="no"))
    assert not automatic(mail("OUI"))


@settings(max_examples=400, deadline=None)
@given(
    body=st.text(max_size=600),
    raw=st.binary(max_size=600),
    header=st.text(max_size=80),
)
def test_any_mail_is_read_without_a_crash_and_nothing_is_understood_that_was_not_asked(
    body, raw, header
):
    reading = read_text(body)
    if reading.kind is not None:
        # Understood only from the first non-empty line's first word, one of the words.
        first = next(line for line in body.replace("\r", "\n").split("\n") if line.strip())
        word = re.match(r"^\W*([^\W\d_]+)", first.strip())
        assert word is not None and WORDS[_folded(word.group(1))] == reading.kind
        assert reading.kind != AnswerKind.object or reading.reason or reading.problem
    message = message_from_bytes(
        b"Subject: " + header.encode("utf-8", "replace") + b"\r\n\r\n" + raw, policy=policy.default
    )
    automatic(message)
    read(message)
    html = message_from_bytes(
        b"Content-Type: text/html; charset=utf-8\r\n\r\n" + raw, policy=policy.default
    )
    read(html)


def test_a_reply_to_a_review_reads_its_own_words():
    from domain.models import ReviewChoice

    assert read_text("Maintenir", review=True).kind == ReviewChoice.keep
    amend = read_text("AMENDER : arroser aussi le mercredi", review=True)
    assert (amend.kind, amend.reason) == (ReviewChoice.amend, "arroser aussi le mercredi")
    end = read_text("Mettre fin, le jardin ferme", review=True)
    assert (end.kind, end.reason) == (ReviewChoice.end, "le jardin ferme")
    assert read_text("FIN", review=True).problem == "reason_required"
    assert read_text("Mettre le paquet", review=True).problem == "unknown_word"
    assert read_text("OUI", review=True).problem == "unknown_word"  # a review is not consented to
    assert read_text("Maintenir").problem == "unknown_word"  # nor a decision kept


def test_no_objection_is_not_read_as_an_objection():
    assert read_text("No objection, go ahead").problem == "unknown_word"
    assert read_text("Non, objection levée").problem == "unknown_word"
    assert read_text("NON, trop cher").kind == AnswerKind.object
