"""Failure classes the held-out corpus (tests/replies_heldout/) found, each checked on its own:
`ReportFlow.step` and the matcher, no Redis, no web app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.locale import Locale, LocaleError, load_locales, understanding_problems
from flows.machine import Conversation, ReportFlow, Said
from flows.understand import Understanding, bag_key, fold

FLOW = ReportFlow()


def at(state: str, language: str = "en", **answers: Any) -> Conversation:
    return Conversation(state=state, language=language, answers=dict(answers))


def answer(state: str, language: str, text: str) -> Conversation:
    conversation = at(state, language)
    FLOW.step(conversation, Said(text=text))
    return conversation


def test_yaml_no_and_on_in_a_locale_file_are_words_not_booleans(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(
        "language: en\nmessages: {a: b}\nunderstanding:\n  negations: [no, nu, off]\n  common: [on, yes]\n",
        encoding="utf-8")
    locale = load_locales(tmp_path)["en"]
    assert locale.negations == ("no", "nu", "off") and locale.common == ("on", "yes")
    (tmp_path / "en.yaml").write_text("language: en\nmessages: {a: b}\nunderstanding: {negations: [true]}\n",
                                      encoding="utf-8")
    with pytest.raises(LocaleError, match="negations"):
        load_locales(tmp_path)


def test_the_shipped_locales_keep_no_as_a_negation() -> None:
    assert "no" in FLOW.locales["es"].negations and "no" in FLOW.locales["en"].negations


@pytest.mark.parametrize(("language", "text"), [
    ("en", "not ok"), ("ro", "nu e ok"), ("en", "ok no thanks"), ("es", "ya no"), ("es", "no, ya se fueron"),
    ("en", "yes... actually no"), ("en", "no, yes I mean no"), ("ro", "da, adica nu"),
    ("pt", "sim quer dizer não"), ("fr", "oui enfin non"), ("es", "claro que no"), ("fr", "bien sûr que non"),
])
def test_a_no_that_contains_yes_words_is_no(language: str, text: str) -> None:
    assert answer("follow_up", language, text).answers["follow_up"] is False


@pytest.mark.parametrize(("language", "text"), [
    ("en", "i dont mind"), ("es", "no me molesta"), ("fr", "ça me dérange pas"), ("pt", "não me importo"),
    ("ro", "nu ma deranjeaza"), ("en", "no problem"), ("en", "ok"),
])
def test_a_yes_said_with_a_negation_is_yes(language: str, text: str) -> None:
    assert answer("follow_up", language, text).answers["follow_up"] is True


@pytest.mark.parametrize("text", ["no... actually yes", "no, yes", "yes. no wait, no"])
def test_a_correction_never_turns_no_into_yes(text: str) -> None:
    conversation = answer("danger", "en", text)
    assert conversation.state == "danger" and "danger" not in conversation.answers


def test_arabic_dialect_verb_prefixes_share_one_stem() -> None:
    assert bag_key("حيقرا") == bag_key("هيقرا") == bag_key("بيقرا") == bag_key("يقرا")
    assert bag_key("بيت") == "بيت"


def test_a_typo_is_never_corrected_into_a_filler() -> None:
    assert FLOW.understanding(at("consent", "ar")).canonical("الكلام") != "السلام"


@pytest.mark.parametrize(("language", "state", "text", "topic"), [
    ("ar", "location", "مين حيقرا الكلام ده؟", "faq.who_reads"),
    ("en", "consent", "wait who will see this", "faq.who_reads"),
    ("fr", "description", "attends c'est anonyme ?", "faq.anonymous"),
    ("en", "media", "i have a video of the house but if they go through my phone and find it they will kill me, "
     "should i delete everything after", "faq.safety"),
    ("en", "location", "if i tell you the street will they find out it was me", "faq.anonymous"),
    ("es", "location", "si doy la direccion van a saber que fui yo", "faq.anonymous"),
    ("en", "consent", "am i talking to a bot", "faq.unknown"),
    ("pt", "description", "posso continuar depois?", "faq.add_later"),
    # longer messages made of questions about the service
    ("en", "description", "before i go on, if they check my phone later will they find this chat?", "faq.safety"),
    ("fr", "location", "si je vous donne la rue exacte est-ce qu'ils vont savoir que c'est moi ? "
                       "j'habite juste en face", "faq.anonymous"),
    ("es", "description", "antes de contar todo, que pasa despues de que mando esto? va a ir la policia?", "faq.next"),
    ("pt", "when", "e depois que eu mandar isso, o que vocês fazem? a policia vai la?", "faq.next"),
    ("es", "description", "eres un bot o una persona real?", "faq.unknown"),
])
def test_a_question_is_answered_from_the_faq(language: str, state: str, text: str, topic: str) -> None:
    conversation = at(state, language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.state == state and conversation.answers == {}
    assert outcome.replies[0].text == FLOW.message(conversation, topic, **FLOW.helplines(conversation)).text


@pytest.mark.parametrize(("language", "state", "text"), [
    ("fr", "location", "il se passe quoi après ?"), ("ro", "location", "o sa afle cineva ca eu am scris?"),
    ("ar", "when", "حدا رح يعرف اني انا؟"), ("es", "people", "le van a decir a ellos que fui yo?"),
])
def test_a_question_without_a_leading_question_word_is_never_stored(language: str, state: str, text: str) -> None:
    conversation = at(state, language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.state == state and conversation.answers == {}
    assert outcome.replies[-1].text == FLOW.prompt(conversation).text


@pytest.mark.parametrize(("state", "text"), [("location", "near the church?"), ("when", "tuesday i think?")])
def test_a_short_answer_with_a_question_mark_is_still_an_answer(state: str, text: str) -> None:
    assert answer(state, "en", text).answers[state] == text


@pytest.mark.parametrize(("language", "text"), [
    ("en", "hold on someone is coming"), ("fr", "deux sec"), ("pt", "calma ai"), ("es", "espera tantito"),
])
def test_a_pause_is_acknowledged_and_nothing_stored(language: str, text: str) -> None:
    conversation = at("description", language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.answers == {} and outcome.replies[0].text == FLOW.message(conversation, "pause.ack").text


def test_a_category_with_mixed_evidence_is_asked_about_not_taken() -> None:
    conversation = at("category", "es")
    FLOW.step(conversation, Said(text="trabajan en una maquila todo el dia sin paga y no los dejan salir"))
    assert "category" not in conversation.answers and "labour" in conversation.narrowed


def test_english_words_that_mean_something_else_locally_are_not_borrowed() -> None:
    english = Understanding.build({"yes": ["yes", "ya"], "no": ["no", "no thanks"]}, negations=["no", "not"])
    polish_like = Understanding.build({"yes": ["tak"], "no": ["nie"]}, negations=["nie"], fillers=["no"])
    spanish_like = Understanding.build({"yes": ["si"], "no": ["nop"]}, negations=["no"], common=["ya"])
    polish = polish_like.with_core(english)
    assert "no" not in polish.negations and polish.yes_no(polish.read("no")) is None
    assert polish.yes_no(polish.read("not")) == "no"
    spanish = spanish_like.with_core(english)
    assert spanish.yes_no(spanish.read("ya")) is None and spanish.yes_no(spanish.read("yes")) == "yes"
    assert spanish.yes_no(spanish.read("no thanks")) == "no"


@pytest.mark.parametrize(("language", "text"), [
    ("en", "yes but only by text please"), ("es", "si pero solo whatsapp"), ("pt", "sim mas so por mensagem"),
    ("ro", "da dar doar pe mesaje"), ("pl", "tak ale tylko smsy"), ("ar", "ايوه بس رسايل"),
    ("vi", "dc nhung chi nhan tin"), ("en", "yes but no calls"), ("fr", "oui mais pas d'appel"),
])
def test_a_yes_with_a_condition_is_yes(language: str, text: str) -> None:
    assert answer("follow_up", language, text).answers["follow_up"] is True


@pytest.mark.parametrize(("language", "text"), [
    ("en", "yes but not now"), ("en", "yes but i cant"), ("es", "si pero no puedo"), ("pt", "sim mas nao agora"),
    ("ro", "da dar nu acum"), ("pl", "tak ale nie teraz"), ("sq", "po por jo tani"), ("en", "yes but no"),
])
def test_a_yes_whose_condition_is_a_refusal_is_never_yes(language: str, text: str) -> None:
    assert answer("consent", language, text).answers.get("consent") is not True


@pytest.mark.parametrize(("language", "text"), [
    ("en", "yes... no, forget it"), ("es", "si... no mejor no"), ("ro", "da... nu, lasa"), ("uk", "так… ні"),
])
def test_a_yes_that_trails_off_into_a_no_is_no(language: str, text: str) -> None:
    assert answer("consent", language, text).answers["consent"] is False


def test_a_no_is_not_turned_by_a_yes_word_deep_inside_its_clause() -> None:
    assert answer("consent", "en", "cant talk my husband is right next to me").answers["consent"] is False
    assert "consent" not in answer("consent", "en", "not really sure").answers


@pytest.mark.parametrize(("language", "text"), [
    ("en", "i dont know who any of them are"), ("es", "ni idea de como se llaman"), ("fr", "je sais pas leurs noms"),
    ("pt", "nao sei quem sao eles"), ("ro", "nu stiu cum ii cheama"), ("pl", "nie wiem jak sie nazywaja"),
    ("vi", "toi ko biet ho la ai"), ("en", "skip this one pls"), ("fr", "je passe"), ("pt", "pode pular"),
])
def test_not_knowing_or_passing_skips_the_optional_people_step(language: str, text: str) -> None:
    conversation = answer("people", language, text)
    assert conversation.state == "media" and "people" not in conversation.answers


@pytest.mark.parametrize(("language", "text"), [
    ("en", "dont know his name but hes tall with a beard"), ("en", "no idea, one of them is called marco"),
    ("es", "no se como se llama el jefe pero es gordo"),
])
def test_not_knowing_then_a_description_is_kept(language: str, text: str) -> None:
    assert answer("people", language, text).answers["people"] == text


@pytest.mark.parametrize(("language", "text"), [
    ("en", "thats all i can tell you"), ("es", "es todo lo que se"), ("pt", "e tudo que eu sei"),
    ("uk", "це все що знаю"),
])
def test_thats_all_i_know_ends_the_description(language: str, text: str) -> None:
    conversation = at("description", language, description=["a man keeps workers in a shed"])
    FLOW.step(conversation, Said(text=text))
    assert conversation.state == "location" and conversation.answers["description"] == ["a man keeps workers in a shed"]


@pytest.mark.parametrize(("state", "text"), [("description", "not finished"), ("description", "im not done yet"),
                                             ("media", "not done, sending more"), ("media", "nu am terminat")])
def test_not_done_is_never_done(state: str, text: str) -> None:
    conversation = at(state, "ro" if text.startswith("nu") else "en", description=["a man keeps workers in a shed"])
    FLOW.step(conversation, Said(text=text))
    assert conversation.state == state


@pytest.mark.parametrize(("language", "text"), [
    ("en", "sent you the video, done"), ("es", "ya te mande las fotos, listo"), ("pt", "mandei as fotos, pronto"),
    ("ar", "ba3att el sowar, khalas"), ("en", "sorry got no pics"),
])
def test_a_short_media_message_ending_with_done_goes_on(language: str, text: str) -> None:
    assert answer("media", language, text).state == "danger"


def test_a_pause_with_words_between_its_pause_words_is_a_pause() -> None:
    conversation = at("description", "en")
    outcome = FLOW.step(conversation, Said(text="one sec my boss just walked in brb"))
    assert conversation.answers == {} and outcome.replies[0].text == FLOW.message(conversation, "pause.ack").text


@pytest.mark.parametrize(("language", "text"), [("en", "do u pay money?"), ("es", "dan recompensa?")])
def test_a_short_question_in_a_description_is_not_stored(language: str, text: str) -> None:
    conversation = at("description", language)
    FLOW.step(conversation, Said(text=text))
    assert conversation.answers == {}


def test_a_number_with_a_question_mark_is_part_of_an_answer() -> None:
    text = "flat above the chippy, i think number 12?"
    assert answer("location", "en", text).answers["location"] == text


@pytest.mark.parametrize(("language", "text", "category"), [
    ("en", "they make the girls sleep with customers for cash", "sexual"),
    ("en", "she is a live in carer for an old man and never allowed out", "domestic"),
    ("es", "los obligan a robar en tiendas", "crime"),
    ("pt", "criancas pedindo no sinal o dia todo", "begging"),
    ("ro", "au grija de o batrana zi si noapte si nu o lasa sa iasa niciodata", "domestic"),
])
def test_a_category_in_words_is_never_taken_wrongly(language: str, text: str, category: str) -> None:
    conversation = answer("category", language, text)
    assert conversation.answers.get("category", category) == category
    assert conversation.answers.get("category") == category or category in conversation.narrowed


def test_short_spellings_stand_for_their_words() -> None:
    vietnamese = FLOW.understanding(at("consent", "vi"))
    assert vietnamese.read("ko dc").words == ("khong", "duoc")
    assert answer("follow_up", "vi", "dc").answers["follow_up"] is True
    assert "danger" not in answer("danger", "vi", "ko chac nua").answers
    made = Understanding.build({"yes": ["yes"], "no": ["no thanks"]}, negations=["not"], spellings={"not": ["nt"]})
    assert made.read("nt").words == ("not",) and made.yes_no(made.read("nt")) == "no"


def test_a_short_word_is_never_typo_corrected_into_a_negation() -> None:
    vietnamese = FLOW.understanding(at("consent", "vi"))
    assert vietnamese.canonical("phong") != "khong"
    assert answer("danger", "vi", "co, co dua nho bi nhot trong phong").answers["danger"] is True


def test_spellings_and_contrasts_load_from_a_locale_file(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(
        "language: en\nmessages: {a: b}\nunderstanding:\n  contrasts: [but, only]\n  spellings: {you: [u, ya]}\n",
        encoding="utf-8")
    locale = load_locales(tmp_path)["en"]
    assert locale.contrasts == ("but", "only") and locale.spellings == {"you": ("u", "ya")}
    (tmp_path / "en.yaml").write_text("language: en\nmessages: {a: b}\nunderstanding: {spellings: [u]}\n",
                                      encoding="utf-8")
    with pytest.raises(LocaleError, match="spellings"):
        load_locales(tmp_path)


def test_flows_check_names_a_spelling_for_two_words_and_a_contrast_of_two_words(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(
        "language: en\nmessages: {a: b}\nunderstanding:\n  negations: [not]\n  questions: [who]\n"
        "  contrasts: [but, even though]\n  spellings: {you: [u], are: [u, r r]}\n", encoding="utf-8")
    locale = load_locales(tmp_path)["en"]
    problems = understanding_problems("en", locale, locale)
    assert "en: contrast 'even though' is not one word" in problems
    assert "en: spelling 'u' stands for both 'are' and 'you'" in problems
    assert "en: spelling 'r r' of 'are' is not one word" in problems
    assert understanding_problems("vi", FLOW.locales["vi"], FLOW.locales["en"]) == []


@pytest.mark.parametrize(("language", "text"), [
    ("en", "do you give money for info"), ("en", "can i finish this tomorrow"), ("es", "puedo terminar mañana"),
])
def test_a_short_question_opening_with_a_question_word_is_not_stored_in_a_description(language: str, text: str) -> None:
    conversation = at("description", language)
    FLOW.step(conversation, Said(text=text))
    assert conversation.answers == {} and conversation.state == "description"


@pytest.mark.parametrize(("language", "text"), [("uk", "гадки не маю хто це"), ("es", "la verdad no se quienes son")])
def test_not_knowing_who_is_no_question_about_who_reads(language: str, text: str) -> None:
    conversation = answer("people", language, text)
    assert conversation.state == "media" and "people" not in conversation.answers


@pytest.mark.parametrize(("language", "text"), [("pl", "dajecie nagrody?"), ("en", "u guys get paid for this?")])
def test_a_question_mark_with_no_yes_or_no_at_a_yes_no_step_is_a_question(language: str, text: str) -> None:
    conversation = at("follow_up", language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert "follow_up" not in conversation.answers
    assert outcome.replies[0].text == FLOW.message(conversation, "faq.unknown").text


@pytest.mark.parametrize(("language", "text"), [
    ("en", "the boss keeps their passports, will police come?"),
    ("en", "young girls in the massage place upstairs, who reads this?"),
    ("es", "les quitaron los pasaportes en la fabrica, quien lee esto?"),
    ("fr", "des filles travaillent dans le salon de massage la nuit, le patron garde leurs passeports, qui peut "
           "les aider ?"),
])
def test_a_description_that_tells_of_a_report_and_asks_is_kept(language: str, text: str) -> None:
    assert answer("description", language, text).answers["description"] == [text]


@pytest.mark.parametrize(("language", "state", "text"), [
    ("en", "consent", "yes?? my husband comes home soon"), ("pt", "consent", "acho que sim?? ele volta as 5"),
])
def test_a_yes_asked_back_is_asked_again(language: str, state: str, text: str) -> None:
    conversation = answer(state, language, text)
    assert conversation.state == state and conversation.answers == {}


@pytest.mark.parametrize(("language", "text"), [
    ("en", "rather not say, im scared"), ("ro", "prefer sa nu spun, mi-e frica de ei"),
    ("es", "prefiero no decir, tengo miedo"),
])
def test_declining_for_fear_skips_the_optional_people_step(language: str, text: str) -> None:
    conversation = answer("people", language, text)
    assert conversation.state != "people" and "people" not in conversation.answers


def test_declining_then_describing_someone_is_kept() -> None:
    text = "rather not say, the driver was tall and bald"
    assert answer("people", "en", text).answers["people"] == text


def test_a_yes_that_is_also_a_filler_answers_a_yes_no_step() -> None:
    assert answer("consent", "uk", "так, я згодна").answers == {"consent": True}


def faq_of(language: str, state: str, text: str) -> str | None:
    """The FAQ topic (or "faq.unknown") answered to `text`; None when it was taken as an answer."""
    conversation = at(state, language)
    outcome = FLOW.step(conversation, Said(text=text))
    texts = [reply.text for reply in outcome.replies]
    topics = [*FLOW.faq_topics, "faq.unknown"]
    answered = [t for t in topics if FLOW.message(conversation, t, **FLOW.helplines(conversation)).text in texts]
    assert not answered or (conversation.state == state and not conversation.answers), conversation
    return answered[0] if answered else None


@pytest.mark.parametrize(("language", "state", "text", "topic"), [
    ("es", "consent", "esto es anonimo o no", "faq.anonymous"),
    ("fr", "follow_up", "vous gardez mon numero ou pas", "faq.anonymous"),
    ("ro", "consent", "ramane anonim sau nu", "faq.anonymous"),
    ("vi", "consent", "gui tin nay co an toan khong vay", "faq.safety"),
    ("vi", "follow_up", "co ai biet so cua em ko", "faq.anonymous"),
])
def test_a_question_closed_by_a_tail_or_framed_is_a_question(language: str, state: str, text: str,
                                                              topic: str) -> None:
    """"o no", "ou pas", "sau nu", "có ... không" close a question as "?" does."""
    assert faq_of(language, state, text) == topic


def test_a_frame_opened_by_a_yes_clause_is_an_answer() -> None:
    assert answer("danger", "vi", "co, tui no dang nhot ba ay khong cho ra").answers["danger"] is True


def english_locale(tmp_path: Path, understanding: str) -> Locale:
    """An English locale file with this `understanding:` section (YAML lines), loaded."""
    (tmp_path / "en.yaml").write_text(f"language: en\nmessages: {{a: b}}\nunderstanding:\n{understanding}",
                                      encoding="utf-8")
    return load_locales(tmp_path)["en"]


def test_tails_load_and_a_bad_tail_is_named(tmp_path: Path) -> None:
    locale = english_locale(tmp_path, '  tails: [or not, "is ... or ... not", "..."]\n')
    assert locale.tails == ("or not", "is ... or ... not", "...")
    problems = understanding_problems("en", locale, locale)
    assert sum("tail" in problem for problem in problems) == 2, problems


@pytest.mark.parametrize(("language", "text"), [
    ("en", "dont ring me back ever"), ("fr", "ne me recontactez pas svp"), ("ro", "nu ma mai contactati va rog"),
    ("en", "please never message me again"),
])
def test_a_reply_opening_with_a_negation_at_a_yes_no_step_is_no(language: str, text: str) -> None:
    assert answer("follow_up", language, text).answers["follow_up"] is False


@pytest.mark.parametrize(("language", "text"), [
    ("en", "who knows, maybe"), ("fr", "qui sait, peut etre"), ("pt", "quem sabe, talvez"), ("ro", "cine stie, poate"),
])
def test_who_knows_is_unsure_not_a_question(language: str, text: str) -> None:
    conversation = at("danger", language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.answers == {} and conversation.state == "danger"
    assert outcome.replies[0].text != FLOW.message(conversation, "faq.unknown").text


@pytest.mark.parametrize(("language", "text"), [
    ("en", "no, theyre all fine"), ("es", "no creo, ahorita estan bien"), ("ro", "nu, acum sunt bine"),
])
def test_a_no_then_a_clause_saying_they_are_fine_is_no(language: str, text: str) -> None:
    assert answer("danger", language, text).answers["danger"] is False


def test_a_borrowed_no_that_is_a_local_word_inside_a_clause_is_not_a_no() -> None:
    assert answer("danger", "vi", "co, no dang khoa cua nhot chi ay").answers["danger"] is True
    assert answer("danger", "vi", "no").answers["danger"] is False


@pytest.mark.parametrize(("language", "text", "topic"), [
    ("pt", "e depois o que voces fazem", "faq.next"), ("ro", "si apoi ce faceti cu asta", "faq.next"),
])
def test_a_short_question_about_a_topic_at_the_review_is_answered(language: str, text: str, topic: str) -> None:
    assert faq_of(language, "review", text) == topic


def test_arabic_feminine_and_plural_endings_share_a_stem() -> None:
    assert bag_key(fold("الخادمات")) == bag_key(fold("خادمة")) == bag_key(fold("خادمه"))


@pytest.mark.parametrize(("language", "state", "text", "topic"), [
    ("en", "follow_up", "who exactly will contact me after this?", "faq.who_reads"),
    ("pl", "follow_up", "a kto sie do mnie odezwie?", "faq.who_reads"),
    ("fr", "follow_up", "et qui va me contacter du coup ?", "faq.who_reads"),
    ("en", "review", "do i ring 911 or what", "faq.danger"),
    ("pl", "review", "czy lepiej dzwonic na 112?", "faq.danger"),
    ("es", "location", "pueden rastrear mi ubicacion con esto?", "faq.anonymous"),
    ("ro", "consent", "costa ceva serviciul asta?", "faq.unknown"),
    ("en", "review", "will i need to testify in court", "faq.next"),
])
def test_questions_of_round_six_classes_are_answered(language: str, state: str, text: str, topic: str) -> None:
    assert faq_of(language, state, text) == topic


@pytest.mark.parametrize(("language", "state", "text"), [
    ("pl", "people", "nie widzialem ich twarzy, sorry"), ("en", "people", "didnt see their faces really"),
    ("fr", "description", "ce serait tout je pense"), ("uk", "media", "я не фотографувала"),
])
def test_not_seeing_faces_or_taking_photos_and_that_would_be_all_go_on(language: str, state: str, text: str) -> None:
    conversation = at(state, language, description=["a man keeps workers in a shed"])
    FLOW.step(conversation, Said(text=text))
    assert conversation.state != state and "people" not in conversation.answers


@pytest.mark.parametrize(("language", "text", "category"), [
    ("ro", "baieti la spalatorie auto fara bani", "labour"),
    ("uk", "продають квіти в переходах, гроші забирає дядько", "begging"),
    ("en", "they post the girls in online ads and move them hotel to hotel", "sexual"),
    ("ar", "عندهم خدامات ما يطلعون من البيت", "domestic"),
])
def test_categories_of_round_six_words_are_understood(language: str, text: str, category: str) -> None:
    assert answer("category", language, text).answers["category"] == category


@pytest.mark.parametrize(("language", "text"), [("pt", "ahan"), ("ro", "mhm"), ("vi", "ừm"), ("en", "mhmm")])
def test_yes_noises_are_yes(language: str, text: str) -> None:
    assert answer("consent", language, text).answers == {"consent": True}


def test_a_question_equally_about_two_topics_gets_both_answers() -> None:
    conversation = at("follow_up")
    outcome = FLOW.step(conversation, Said(text="who might get in touch, the cops?"))
    texts = [reply.text for reply in outcome.replies]
    assert FLOW.message(conversation, "faq.who_reads").text in texts
    assert FLOW.message(conversation, "faq.next").text in texts
    assert conversation.answers == {} and conversation.state == "follow_up"


@pytest.mark.parametrize(("language", "text"), [
    ("en", "not sure if theyre hurt or not"), ("fr", "je sais pas s'ils risquent quelque chose ou pas"),
])
def test_not_knowing_whether_or_not_is_asked_again(language: str, text: str) -> None:
    conversation = at("danger", language)
    outcome = FLOW.step(conversation, Said(text=text))
    assert conversation.answers == {} and conversation.state == "danger"
    assert outcome.replies[0].text != FLOW.message(conversation, "faq.unknown").text


@pytest.mark.parametrize(("language", "state", "text", "topic"), [
    ("es", "follow_up", "y quien me llama luego?", "faq.who_reads"),
    ("ro", "follow_up", "cine o sa ma sune dupa asta?", "faq.who_reads"),
])
def test_who_will_call_me_is_who_reads(language: str, state: str, text: str, topic: str) -> None:
    assert faq_of(language, state, text) == topic


@pytest.mark.parametrize(("language", "text"), [
    ("en", "couldnt see them, too far"), ("pt", "nao consegui ver ninguem"),
])
def test_not_having_been_able_to_see_skips_the_people_step(language: str, text: str) -> None:
    conversation = answer("people", language, text)
    assert conversation.state == "media" and "people" not in conversation.answers


def test_a_filler_phrase_may_not_make_a_yes_a_filler(tmp_path: Path) -> None:
    """Each word of a filler phrase is a filler: "так от" (so then) once made "так" (yes) one, and a
    yes followed by a phrase about danger an aside."""
    assert "так" not in FLOW.understanding(at("danger", "uk")).fillers
    locale = english_locale(tmp_path, '  fillers: [well, yes so]\n  examples: {"yes": ["yes", yep]}\n')
    problems = understanding_problems("en", locale, locale)
    assert any("filler 'yes so'" in problem for problem in problems), problems


@pytest.mark.parametrize(("language", "state", "text"), [
    ("en", "when", "dunno, maybe 2 weeks back?"), ("pl", "when", "nie wiem, chyba w zeszly piatek?"),
    ("pt", "location", "sei la, perto da feira?"), ("uk", "when", "не знаю, може в неділю?"),
])
def test_a_hedged_answer_ending_with_a_question_mark_is_kept(language: str, state: str, text: str) -> None:
    assert answer(state, language, text).answers == {state: text}


@pytest.mark.parametrize(("language", "text"), [("en", "dunno, is this safe?"), ("pt", "sei la, isso é seguro?"),
                                                ("en", "hmm idk is it safe")])
def test_not_knowing_then_asking_at_a_yes_no_step_is_a_question(language: str, text: str) -> None:
    assert faq_of(language, "consent", text) == "faq.safety"


@pytest.mark.parametrize(("language", "text"), [
    ("es", "la ponen de criada y no le pagan nada"), ("en", "shes their maid and never gets paid"),
    ("fr", "elle fait le ménage chez eux sans salaire"),
])
def test_a_category_named_by_its_own_word_is_never_overruled(language: str, text: str) -> None:
    conversation = answer("category", language, text)
    assert conversation.answers.get("category") in (None, "domestic")
    assert conversation.answers.get("category") == "domestic" or "domestic" in conversation.narrowed


@pytest.mark.parametrize(("language", "text"), [("en", "lets do this quick"), ("pl", "dawaj szybko"),
                                                ("ar", "يلا بينا نبدأ")])
def test_lets_go_is_yes(language: str, text: str) -> None:
    assert answer("consent", language, text).answers == {"consent": True}


@pytest.mark.parametrize(("language", "text"), [("fr", "bref c'est tout"), ("en", "anyway thats all")])
def test_a_discourse_filler_before_done_is_done(language: str, text: str) -> None:
    conversation = at("description", language, description=["a man keeps workers in a shed"])
    FLOW.step(conversation, Said(text=text))
    assert conversation.state == "location"


@pytest.mark.parametrize(("language", "text"), [
    ("en", "how soon will anyone act on this"), ("es", "cuanto tardan en venir?"), ("pl", "ile to wszystko potrwa?"),
    ("vi", "bao lau thi co nguoi toi"),
])
def test_how_long_it_takes_is_what_happens_next(language: str, text: str) -> None:
    assert faq_of(language, "review", text) == "faq.next"


def test_a_typo_is_never_corrected_into_a_four_letter_word() -> None:
    """"still" once read as "till" (of "how long till"), making "still happening" a question."""
    assert answer("when", "en", "still going on, most nights").answers == {"when": "still going on, most nights"}
    made = Understanding.build({"faq.next": ["how long till", "what happens"]})
    assert made.canonical("still") == "still" and made.canonical("happend") == "happens"
