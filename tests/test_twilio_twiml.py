"""The hand-built TwiML is the document twilio's own MessagingResponse makes, for any text."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from twilio.twiml.messaging_response import MessagingResponse

from adapters.base import Choice, Reply
from adapters.twilio import twiml
from adapters.twilio_format import render_messages


def library_twiml(replies: list[Reply], whatsapp: bool) -> str:
    response = MessagingResponse()
    for body in render_messages(replies, whatsapp):
        response.message(body)
    return str(response)


def test_twiml_matches_the_library_for_awkward_text() -> None:
    replies = [
        Reply('Tom & Jerry <script>"quoted"</script> \'apostrophe\' 🙏🏽 رأيت'),
        Reply("Choose:", choices=(Choice("a", "Forced labour"), Choice("b", "A > B & C"))),
    ]
    for whatsapp in (False, True):
        ours, theirs = twiml(replies, whatsapp), library_twiml(replies, whatsapp)
        assert [m.text for m in ET.fromstring(ours)] == [m.text for m in ET.fromstring(theirs)]


def test_an_empty_answer_is_an_empty_response() -> None:
    assert ET.fromstring(twiml([], whatsapp=False)).tag == "Response"
    assert len(ET.fromstring(twiml([], whatsapp=False))) == 0


def test_characters_xml_cannot_carry_are_dropped_not_fatal() -> None:
    document = twiml([Reply("before\x00\x01after")], whatsapp=False)
    assert ET.fromstring(document)[0].text == "beforeafter"


def test_the_webhook_signature_is_twilios_own_for_any_form() -> None:
    import hashlib
    import random

    from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator

    from adapters.twilio import form_signature

    rng = random.Random(7)
    alphabet = "abcXYZ019 &=+%/?é日本🙏\u200f:"
    for _ in range(200):
        form = {"".join(rng.choices(alphabet, k=rng.randint(1, 12))):
                "".join(rng.choices(alphabet, k=rng.randint(0, 40))) for _ in range(rng.randint(0, 15))}
        url = "https://tips.example.org/webhooks/twilio" + rng.choice(["", "?a=1&b=é"])
        for algorithm, digest in ((HMAC_SHA1, hashlib.sha1), (HMAC_SHA256, hashlib.sha256)):
            expected = RequestValidator("auth-token-é").compute_signature(url, form, algorithm)
            assert form_signature("auth-token-é".encode(), url, form, digest) == expected
