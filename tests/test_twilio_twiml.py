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
