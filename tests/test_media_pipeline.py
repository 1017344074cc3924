"""Media are checked by their bytes and cleaned of identifying metadata before sealing."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import mutagen
import pytest
from PIL import Image
from pypdf import PdfReader

from adapters.base import MediaLimits, MediaRefused
from bot.app import make_app
from config.settings import Settings
from secure_store.analyst import list_reports, open_media
from secure_store.backends import FileStore
from tests.conftest import AnalystKey, run_burst_worker
from tests.media_samples import (
    AUTHOR,
    DEVICE,
    MP3_FRAMES,
    TAGGED_BY,
    image,
    mp3_with_tags,
    mp4_with_location,
    ogg_opus_with_tags,
    pdf_with_author,
    wav_with_info,
)
from tests.scenario import complete_report
from tests.test_adapter_simulator import SimulatorPhone
from workers.media import prepare

LIMITS = MediaLimits(1024 * 1024, Settings().media_types)


def gps_of(data: bytes) -> dict[int, Any]:
    with Image.open(io.BytesIO(data)) as picture:
        return dict(picture.getexif().get_ifd(0x8825))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_with_gps_and_device_is_removed_and_the_picture_kept(fmt: str) -> None:
    original = image(fmt)
    assert DEVICE.encode() in original
    prepared = prepare(original, LIMITS)
    assert prepared.metadata == "removed"
    assert DEVICE.encode() not in prepared.data
    with Image.open(io.BytesIO(prepared.data)) as cleaned, Image.open(io.BytesIO(original)) as before:
        assert not cleaned.getexif()
        assert cleaned.tobytes() == before.tobytes()


def test_xmp_and_comments_are_removed_too() -> None:
    jpeg = image("JPEG", comment=b"taken at home", xmp=b"<x:xmpmeta>secret-place</x:xmpmeta>")
    cleaned = prepare(jpeg, LIMITS).data
    assert b"taken at home" not in cleaned and b"secret-place" not in cleaned
    gif = image("GIF", with_metadata=False, comment=b"taken at home")
    assert b"taken at home" not in prepare(gif, LIMITS).data


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_an_image_without_metadata_is_stored_byte_for_byte(fmt: str) -> None:
    plain = image(fmt, with_metadata=False)
    prepared = prepare(plain, LIMITS)
    assert prepared.data == plain and prepared.metadata == "none"


def test_a_progressive_jpeg_with_trailing_data_keeps_its_picture_and_loses_the_trailer() -> None:
    original = image("JPEG", progressive=True) + b"MotionPhoto_Data" + b"\x00" * 32
    cleaned = prepare(original, LIMITS).data
    assert cleaned.endswith(b"\xff\xd9") and b"MotionPhoto_Data" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as after, Image.open(io.BytesIO(original)) as before:
        assert after.tobytes() == before.tobytes()


def test_video_location_is_blanked_without_moving_the_media_data() -> None:
    video = mp4_with_location()
    prepared = prepare(video, LIMITS)
    assert prepared.content_type == "video/mp4" and prepared.metadata == "removed"
    assert b"+45.7639" not in prepared.data and b"udta" not in prepared.data
    assert len(prepared.data) == len(video)
    assert prepared.data.index(b"mdat") == video.index(b"mdat")


@pytest.mark.parametrize(
    ("data", "note"),
    [
        (b"MZ\x90\x00 a windows program", "type unknown"),
        (b"<html><script>alert(1)</script>", "type unknown"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF broken", "damaged"),
        (b"", "empty"),
        (b"%PDF-1.7\n" + b"x" * (LIMITS.max_bytes + 1), "larger than"),
    ],
)
def test_unsupported_damaged_or_oversized_media_are_refused_with_a_note(data: bytes, note: str) -> None:
    with pytest.raises(MediaRefused, match=note):
        prepare(data, LIMITS)


def test_a_type_outside_the_allowed_list_is_refused_whatever_its_bytes() -> None:
    with pytest.raises(MediaRefused, match="image/png"):
        prepare(image("PNG"), MediaLimits(1024 * 1024, ("image/jpeg",)))


@pytest.mark.slow
async def test_gps_in_a_reporters_photo_is_absent_from_the_photo_analysts_decrypt(
    settings: Settings, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, aiohttp_client: Any
) -> None:
    photo = image("JPEG")
    assert gps_of(photo)
    await complete_report(SimulatorPhone(await aiohttp_client(make_app(settings))), [photo])
    assert run_burst_worker(service_env).returncode == 0

    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None
    [item] = opened.report["media"]
    stored = open_media(store, analyst_key.load(), item["id"])
    assert gps_of(stored) == {} and DEVICE.encode() not in stored
    assert item["metadata"] == "removed" and item["content_type"] == "image/jpeg"
    assert item["size"] == len(stored)
    assert item["sha256"] == hashlib.sha256(stored).hexdigest()


def test_a_video_cut_short_is_kept_as_evidence_and_flagged_as_not_fully_cleaned() -> None:
    video = mp4_with_location()[:-20]
    prepared = prepare(video, LIMITS)
    assert prepared.metadata == "kept" and b"+45.7639" not in prepared.data


@pytest.mark.parametrize("make, content_type", [
    (ogg_opus_with_tags, "audio/ogg"), (mp3_with_tags, "audio/mpeg"), (wav_with_info, "audio/wav"),
])
def test_audio_tags_are_removed_and_the_sound_kept(make: Any, content_type: str) -> None:
    tagged = make()
    prepared = prepare(tagged, LIMITS)
    assert prepared.content_type == content_type and prepared.metadata == "removed"
    assert TAGGED_BY.encode() not in prepared.data and AUTHOR.encode() not in prepared.data
    again = prepare(prepared.data, LIMITS)
    assert again.metadata == "none" and again.data == prepared.data, "a clean file stays byte for byte"
    if content_type == "audio/mpeg":
        assert prepared.data == MP3_FRAMES
    if content_type == "audio/ogg":
        assert b"\xf8\xff\xfe" in prepared.data and mutagen.File(io.BytesIO(prepared.data)).info.channels == 1


def test_pdf_document_information_and_xmp_are_removed() -> None:
    prepared = prepare(pdf_with_author(), LIMITS)
    assert prepared.metadata == "removed" and AUTHOR.encode() not in prepared.data
    reader = PdfReader(io.BytesIO(prepared.data))
    assert len(reader.pages) == 1 and not reader.metadata and "/Metadata" not in reader.trailer["/Root"]


def test_a_pdf_that_cannot_be_cleaned_is_kept_with_the_reason() -> None:
    damaged = b"%PDF-1.7\n" + b"\x00garbage" * 20
    prepared = prepare(damaged, LIMITS)
    assert prepared.metadata == "kept" and prepared.data == damaged
    assert "PDF could not be read" in prepared.note


@pytest.mark.parametrize("sample, kind, content_type, secret", [
    (ogg_opus_with_tags, "voice", "audio/ogg", TAGGED_BY),
    (pdf_with_author, "document", "application/pdf", AUTHOR),
    (mp4_with_location, "video", "video/mp4", "+45.7639"),
])
async def test_what_analysts_decrypt_has_no_tags_author_or_location(
    sample: Any, kind: str, content_type: str, secret: str,
    settings: Settings, service_env: dict[str, str], store: FileStore, analyst_key: AnalystKey, aiohttp_client: Any,
) -> None:
    """A voice note, a document and a video sent through the simulator channel, filed by a real worker."""
    data = sample()
    assert secret.encode() in data
    phone = SimulatorPhone(await aiohttp_client(make_app(settings)))
    phone.file_type, phone.file_kind = content_type, kind
    await complete_report(phone, [data])
    assert run_burst_worker(service_env).returncode == 0

    [opened] = list_reports(store, analyst_key.load())
    assert opened.report is not None
    [item] = opened.report["media"]
    stored = open_media(store, analyst_key.load(), item["id"])
    assert secret.encode() not in stored
    assert item["metadata"] == "removed" and item["content_type"] == content_type
