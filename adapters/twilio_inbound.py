"""Twilio's inbound-message webhook form -> `Inbound`, for SMS/MMS and WhatsApp alike.

`From`, `To`, `ProfileName` and `WaId` are never kept here: the reply address goes to the engine
as `Inbound.sender` (which it pseudonymises at once) and the number's country as a hint only.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qsl

import phonenumbers

from adapters.base import Inbound, Location, MediaRef
from config.errors import Refused

WHATSAPP = "whatsapp:"
MAX_MEDIA = 10
MAX_FIELDS = 200
ADDRESS_SEPARATOR = "|"


class BadForm(Refused, ValueError):
    """The body is not a usable Twilio form; the message is safe to send back and to log."""


def parse_form(body: bytes) -> dict[str, str]:
    """Decode an `application/x-www-form-urlencoded` body strictly: UTF-8, well-formed, no repeats."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                          errors="strict", max_num_fields=MAX_FIELDS)
    except ValueError:  # includes UnicodeDecodeError
        raise BadForm("body is not a valid UTF-8 form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise BadForm(f"field {name[:40]!r} appears more than once")
        form[name] = value
    return form


def reply_address(form: dict[str, str]) -> str:
    """Who to answer and from which of our numbers: `reporter|ours` (both with `whatsapp:` on
    WhatsApp), so a deployment with several numbers answers from the one the reporter wrote to."""
    sender, ours = form.get("From", "").strip(), form.get("To", "").strip()
    for value, name in ((sender, "From"), (ours, "To")):
        if not 3 <= len(value) <= 64 or ADDRESS_SEPARATOR in value:
            raise BadForm(f"{name} is missing or malformed")
    return f"{sender}{ADDRESS_SEPARATOR}{ours}"


def split_address(address: str) -> tuple[str, str]:
    """(reporter, our number) from a `reply_address`."""
    reporter, separator, ours = address.partition(ADDRESS_SEPARATOR)
    if not separator or not reporter or not ours:
        raise ValueError("not a Twilio reply address")
    return reporter, ours


_REGION_BY_PREFIX: dict[str, str | None] = {}
_PREFIX_DIGITS = 7
_MAX_PREFIXES = 20_000


def country_of(number: str) -> str | None:
    """ISO region of a phone number (e.g. "FR"), for pre-selecting a language; None if unknown.

    Remembered by the number's first digits (calling code and area), never by whole numbers, so the
    hot path parses each area once and the process keeps no list of reporters' numbers.
    """
    prefix = number.removeprefix(WHATSAPP)[:_PREFIX_DIGITS]
    if prefix in _REGION_BY_PREFIX:
        return _REGION_BY_PREFIX[prefix]
    region = _region_of(number)
    if len(_REGION_BY_PREFIX) < _MAX_PREFIXES:
        _REGION_BY_PREFIX[prefix] = region
    return region


def _region_of(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number.removeprefix(WHATSAPP), None)
    except phonenumbers.NumberParseException:
        return None
    regions = phonenumbers.region_codes_for_country_code(parsed.country_code or 0)
    region = regions[0] if len(regions) == 1 else phonenumbers.region_code_for_number(parsed)
    if not region and regions:
        region = regions[0]
    return region if region and region != "ZZ" else None


def media_kind(content_type: str, whatsapp: bool) -> str:
    """What the reporter sent, in the flow's words. WhatsApp voice notes arrive as audio/ogg."""
    major = content_type.split("/")[0]
    if major == "image":
        return "photo"
    if major == "video":
        return "video"
    if major == "audio":
        return "voice" if whatsapp and content_type.startswith("audio/ogg") else "audio"
    return "document"


def _count(form: dict[str, str], name: str, maximum: int) -> int:
    raw = form.get(name, "0").strip() or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > maximum:  # "²".isdigit() is True
        raise BadForm(f"{name} must be a whole number from 0 to {maximum}")
    return int(raw)


def _media(form: dict[str, str], channel: str, whatsapp: bool) -> tuple[MediaRef, ...]:
    refs = []
    for index in range(_count(form, "NumMedia", MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}", "").strip()
        if not url.startswith(("https://", "http://")) or len(url) > 2048:
            raise BadForm(f"MediaUrl{index} is missing or not a URL")
        content_type = form.get(f"MediaContentType{index}", "").split(";")[0].strip().lower()[:100]
        refs.append(MediaRef(channel, url, kind=media_kind(content_type, whatsapp), content_type=content_type or None))
    return tuple(refs)


def _location(form: dict[str, str]) -> Location | None:
    if "Latitude" not in form and "Longitude" not in form:
        return None
    try:
        latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
    except (KeyError, ValueError):
        raise BadForm("Latitude and Longitude must both be numbers") from None
    if not (math.isfinite(latitude) and math.isfinite(longitude)
            and -90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise BadForm("Latitude or Longitude out of range")
    return Location(latitude, longitude, address=form.get("Address") or None, label=form.get("Label") or None)


def to_inbound(form: dict[str, str], channel: str, max_text: int, keep_message_id: bool = False) -> Inbound:
    """The message as the engine sees it. `MessageSid` de-duplicates Twilio's retries; with
    `keep_message_id` it is also kept with the draft, to delete the message at Twilio afterwards."""
    message_id = (form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    if not 1 <= len(message_id) <= 64 or not message_id.isalnum():
        raise BadForm("MessageSid is missing or malformed")
    address = reply_address(form)
    reporter = address.partition(ADDRESS_SEPARATOR)[0]
    whatsapp = reporter.startswith(WHATSAPP)
    text = form.get("Body") or None
    choice = (form.get("ButtonPayload") or "").strip()[:64] or None
    return Inbound(
        adapter=channel,
        sender=address,
        message_id=message_id,
        text=text[:max_text] if text else None,
        media=_media(form, channel, whatsapp),
        location=_location(form),
        choice=choice,
        medium="whatsapp" if whatsapp else "sms",
        country_hint=country_of(reporter),
        provider_message_ids=(message_id,) if keep_message_id else (),
    )
