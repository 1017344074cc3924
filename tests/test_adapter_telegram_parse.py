"""What the bot hears from a Telegram update, and how its replies are cut and shown (pure, no I/O)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from adapters.base import Choice, Reply
from adapters.telegram_parse import Parsed, Skipped, command_words, to_inbound
from adapters.telegram_send import MAX_MESSAGE_UNITS, render, split_text


def update(language: str | None = "en", **content: Any) -> dict[str, Any]:
    user: dict[str, Any] = {"id": 5551234, "is_bot": False, "first_name": "Ana"}
    if language:
        user["language_code"] = language
    message = {"message_id": 3, "from": user, "chat": {"id": 5551234, "type": "private"},
               "date": int(time.time()), **content}
    return {"update_id": 10, "message": message}


def parsed(**content: Any) -> Parsed:
    result = to_inbound(update(**content), max_text=4000)
    assert isinstance(result, Parsed)
    return result


@pytest.mark.parametrize(
    ("text", "words", "language"),
    [("/start", None, None), ("/start lang_es", None, "es"), ("/start es", None, "es"),
     ("/start campaign-42", None, None), ("/help", "help", None), ("/HELP@TiplineBot", "help", None),
     ("/cancel now", "cancel now", None), ("hello", "not a command", None)],
)
def test_commands_become_words_and_start_links_choose_a_language(text: str, words: str | None,
                                                                 language: str | None) -> None:
    found = command_words(text)
    if words == "not a command":
        assert found is None
    else:
        assert found == (words, language)


def test_the_sender_is_the_chat_and_the_language_comes_from_the_app() -> None:
    inbound = parsed(language="pt-br", text="olá").inbound
    assert (inbound.sender, inbound.message_id, inbound.text) == ("5551234", "10", "olá")
    assert inbound.language_hint == "pt"
    assert inbound.provider_message_ids == ("3",)
    assert parsed(language=None, text="hi").inbound.language_hint is None
    assert parsed(language="en", text="/start lang_fr").inbound.language_hint == "fr"


def test_a_caption_travels_with_its_media_and_a_gif_is_one_video() -> None:
    inbound = parsed(caption="the van", animation={"file_id": "A1", "file_unique_id": "u", "width": 1,
                                                   "height": 1, "duration": 1, "mime_type": "video/mp4"},
                     document={"file_id": "A1", "file_unique_id": "u", "mime_type": "video/mp4"}).inbound
    assert inbound.text == "the van"
    assert [(m.locator, m.kind, m.content_type) for m in inbound.media] == [("A1", "video", "video/mp4")]


def test_a_document_without_a_type_is_not_guessed() -> None:
    [ref] = parsed(document={"file_id": "D1", "file_unique_id": "u", "file_size": 10}).inbound.media
    assert (ref.kind, ref.content_type, ref.size) == ("document", "application/octet-stream", 10)


def test_long_text_is_cut_to_the_service_limit() -> None:
    assert parsed(text="x" * 5000).inbound.text == "x" * 4000


def test_stickers_and_contacts_still_reach_the_bot_without_content() -> None:
    inbound = parsed(contact={"phone_number": "+33600000000", "first_name": "Someone"}).inbound
    assert (inbound.text, inbound.media, inbound.location) == (None, (), None)


def test_a_button_press_in_a_group_is_skipped_but_acknowledged() -> None:
    query = {"id": "77", "from": {"id": 1, "is_bot": False, "first_name": "A"}, "chat_instance": "1",
             "data": "labour", "message": {"message_id": 1, "date": 1, "chat": {"id": -5, "type": "group"}}}
    result = to_inbound({"update_id": 1, "callback_query": query}, 4000)
    assert isinstance(result, Skipped) and result.callback_query_id == "77"


def test_choices_become_buttons_and_long_replies_are_split_with_buttons_last() -> None:
    reply = Reply("line\n" * 2000, choices=(Choice("yes", "Yes"), Choice("no", "No")))
    parts = render(reply)
    assert len(parts) == 3
    assert "".join(text for text, _ in parts) == reply.text
    assert [markup is not None for _, markup in parts] == [False, False, True]
    buttons = parts[-1][1]
    assert buttons is not None
    assert [[b["callback_data"] for b in row] for row in buttons["inline_keyboard"]] == [["yes"], ["no"]]


def test_replies_are_split_by_telegrams_own_measure() -> None:
    text = "🙂" * 3000  # 6000 UTF-16 units in one line
    parts = split_text(text)
    assert "".join(parts) == text
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_MESSAGE_UNITS for p in parts)


def test_keys_too_long_for_a_button_fall_back_to_numbered_text() -> None:
    [(text, markup)] = render(Reply("Pick one", choices=(Choice("k" * 65, "Long one"),)))
    assert markup is None and text == "Pick one\n1. Long one"
