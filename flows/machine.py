"""The report conversation: one shared `transitions` state machine built from a flow file.

`ReportFlow.step` takes one reporter message for one conversation and returns the replies and
how the conversation ends, if it does (file the report, file an addendum, or discard the draft).
It is pure: no Redis, no network, no provider; the bot's engine persists the `Conversation`.
"""

from __future__ import annotations

from typing import Any

from transitions import Machine

from flows.conversation import Conversation, Outcome, Said
from flows.helplines import helpline_for
from flows.kinds import KINDS
from flows.kinds.base import SUMMARY_CHARS
from flows.locale import MAX_WORD_CHARS, Locale, load_locales, match_option, normalise, typo_of
from flows.said import Choice, Reply
from flows.spec import FlowSpec, Step, load_flow, reachable
from flows.understand import SHORT_TOKENS, Reading, Understanding, words_of

__all__ = ["Conversation", "Outcome", "ReportFlow", "Said"]

GLOBAL_WORDS = ("delete", "cancel", "restart", "back", "help", "language")
HISTORY_LIMIT = 24
MAX_PLACES = 10
"""Extra places (pins shared after the first) a draft keeps."""
CAPTION_CHARS = 1000
"""A caption is kept up to this length (Telegram allows 1024)."""
SHORT_NO = 5
"""A "no" of at most this many words skips an optional step ("no", "nobody i saw")."""
QUESTION_WORDS = 8
"""A message without a question mark is taken for a question only when this short or shorter."""
SHORT_QUESTION = 6
"""In a description, a message opening with a question word is a question up to this long."""
PLAIN_QUESTION = 4
"""At a one-answer step, a message this long or longer ending with "?" is a question, not an answer."""
ASIDE_CHARS = 200
ASIDE_TOPIC_WORDS = 10
"""A message about an FAQ topic without a question mark or question word is a question up to this long."""
SURE_TOPIC = 5
"""A phrase of a topic's examples this long makes a message up to SHORT_TOKENS words a question."""
ASIDE_YES_NO_WORDS = 8
"""Longer messages are answers, never questions or pauses."""
REFUSAL_WORDS = 12
"""At an optional step, "no", "skip" or "rather not say" with a reason ("nuk dua te them emra, kam
frike") skips up to this many words."""
FEARS = ("faq.safety", "faq.anonymous")
"""The meanings whose words give a reason for not answering (being afraid, being found out)."""
LONG_QUESTION = 25
"""A message of questions about the service is a question up to this many words ("before i write
every thing, who exactly will be reading these messages?"), when it says nothing of a report."""
ASIDE_STATEMENT_WORDS = 10
"""Such a message may say this many words besides its questions ("... ? i dont trust the police")."""
REPORT_WORDS = 2.0
"""A message whose words score this much for a category (two of its words, or one phrase of two)
tells something of a report: it is kept ("rue", street, alone does not)."""


class ReportFlow:
    """A flow file and its translations, with one machine shared by every conversation."""

    def __init__(self, spec: FlowSpec | None = None, locales: dict[str, Locale] | None = None,
                 default_country: str | None = None) -> None:
        self.spec = spec or load_flow()
        self.locales = locales or load_locales()
        self.default_country = default_country
        self.language_order = ["en", *sorted(code for code in self.locales if code != "en")]
        self.language_step = next((s.id for s in self.spec.steps.values() if s.kind == "language"), None)
        self.machine = Machine(
            model=None,
            states=list(self.spec.steps),
            transitions=self._transitions(),
            initial=self.spec.start,
            auto_transitions=False,
        )
        self._global_words = {code: self._global_forms(code) for code in self.locales}
        english = self.locales["en"].understanding
        self._understanding = {code: locale.understanding if code == "en" else locale.understanding.with_core(english)
                               for code, locale in self.locales.items()}
        self.faq_topics = sorted(m for m in self.locales["en"].examples if m.startswith("faq."))
        self.categories = sorted(m for m in self.locales["en"].examples if m.startswith("category."))
        self._prompt_words: dict[tuple[str, str], frozenset[str]] = {}
        self.location_store = next((s.store for s in self.spec.steps.values() if s.kind == "location"), None)

    def _global_forms(self, language: str) -> dict[str, str]:
        """Folded form -> global word, for one language: its own forms, English's, and LANGUAGE in any."""
        table: dict[str, str] = {}
        for word in reversed(GLOBAL_WORDS):  # earlier words win a shared form
            forms = [*self.locales[language].words.get(word, ()), *self.locales["en"].words.get(word, ())]
            if word == "language":
                forms = [form for other in self.locales.values() for form in other.words.get(word, ())]
            table.update({normalise(form): word for form in forms if normalise(form)})
        return table

    def _transitions(self) -> list[dict[str, Any]]:
        moves: list[dict[str, Any]] = []
        for step in self.spec.steps.values():
            if step.next:
                moves.append({"trigger": "advance", "source": step.id, "dest": step.next})
            for answer, dest in step.branch.items():
                moves.append({"trigger": f"answer_{answer}", "source": step.id, "dest": dest})
            if step.kind == "review":
                for target in self.spec.fields():
                    moves.append({"trigger": f"edit_{target.id}", "source": step.id, "dest": target.id})
        live = [s.id for s in self.spec.steps.values() if s.kind != "final"]
        after = self._after_restart()
        moves.append({"trigger": "restart", "source": [s for s in live if s in after], "dest": self.spec.restart})
        before = [s for s in live if s not in after]
        if before:
            moves.append({"trigger": "restart", "source": before, "dest": self.spec.start})
        if self.language_step:
            moves.append({"trigger": "change_language", "source": live, "dest": self.language_step})
        return moves

    # -- what the reporter sees -------------------------------------------------------------

    def locale(self, conversation: Conversation) -> Locale:
        return self.locales.get(conversation.language) or self.locales["en"]

    def pick_language(self, language_hint: str | None, country_hint: str | None) -> str | None:
        """The language a channel's hints point to (Telegram language_code, phone country), if any."""
        if language_hint:
            code = language_hint.replace("_", "-").split("-")[0].lower()
            if code in self.locales:
                return code
        if country_hint:
            for code in self.language_order:
                if country_hint.upper() in self.locales[code].countries:
                    return code
        return None

    def new_conversation(self, language: str | None = None, country: str | None = None) -> Conversation:
        """A fresh draft; with a known `language` the language question is skipped (LANGUAGE changes it)."""
        conversation = Conversation(state=self.spec.start, language=language or "en", country=country)
        if language in self.locales and self.spec.step(self.spec.start).kind == "language":
            self._go(conversation, "advance")
        return conversation

    def begin(self, conversation: Conversation) -> list[Reply]:
        return [self.message(conversation, "welcome"), *self._arrive(conversation).replies]

    def erase_offer(self, conversation: Conversation, key: str) -> Reply:
        """The offer, at the end, to erase the whole conversation from the reporter's chat."""
        locale = self.locale(conversation)
        return Reply(locale.text("erase.offer"), choices=(Choice(key, locale.text("erase.button")),), rtl=locale.rtl)

    def message(self, conversation: Conversation, key: str, **values: object) -> Reply:
        """A message of the locale files in the reporter's language."""
        locale = self.locale(conversation)
        return Reply(locale.text(key, **values), rtl=locale.rtl)

    def options(self, step: Step, locale: Locale) -> list[tuple[str, str]]:
        return KINDS[step.kind].options(self, step, locale)

    def prompt(self, conversation: Conversation, key: str | None = None, **values: object) -> Reply:
        """The current step's question (or `key`), with its choices."""
        step = self.spec.step(conversation.state)
        return KINDS[step.kind].prompt(self, conversation, step, key, **values)

    def helplines(self, conversation: Conversation) -> dict[str, str]:
        """Emergency and helpline numbers for the reporter's country, as message values. Where the
        flow asks for the country, an unknown one gives the numbers that work almost anywhere
        (112, 911), never DEFAULT_COUNTRY's (the reporter may be elsewhere)."""
        asks = any(step.kind == "country" for step in self.spec.steps.values())
        numbers = helpline_for(conversation.country or (None if asks else self.default_country))
        helpline = ""
        if numbers.helpline:
            helpline = self.locale(conversation).text("danger_help.helpline", number=numbers.helpline,
                                                      name=numbers.helpline_name)
        return {"emergency": numbers.emergency, "helpline": helpline}

    def display(self, conversation: Conversation, step: Step) -> str:
        """One stored answer as the reporter would recognise it."""
        value = conversation.answers.get(step.store or "")
        if value is None or value == [] or value == "":
            return self.locale(conversation).text("review.none")
        shown = KINDS[step.kind].display(self, conversation, step, value)
        places = conversation.answers.get("places") or []
        if step.store == self.location_store and places:
            shown += f" (+{len(places)})"
        return shown

    def summary(self, conversation: Conversation) -> str:
        locale = self.locale(conversation)
        lines = [f"{i}. {locale.text(f'review.field.{step.store}')}: {self.display(conversation, step)}"
                 for i, step in enumerate(self.spec.fields(), 1)]
        captions = [str(item["caption"]) for item in conversation.media if item.get("caption")]
        files = f"{len(conversation.media)}" + (f" ({'; '.join(captions)})" if captions else "")
        files = files if len(files) <= SUMMARY_CHARS else files[: SUMMARY_CHARS - 1] + "…"
        lines.append(f"{locale.text('review.field.media')}: {files}")
        return "\n".join(lines)

    def closing(self, conversation: Conversation, **values: object) -> Reply:
        """The final step's message (e.g. the receipt code once the engine has made one)."""
        return self.message(conversation, self.spec.step(conversation.state).prompt, **values)

    # -- moving -------------------------------------------------------------------------------

    def _go(self, conversation: Conversation, trigger: str) -> None:
        """Fire `trigger` for this conversation on the shared machine. The event works on any model
        that carries a `state`, so no per-message add_model/remove_model (which costs ~0.1 ms)."""
        self.machine.events[trigger].trigger(conversation)

    def forward(self, conversation: Conversation, step: Step, answer: str | None = None) -> Outcome:
        """Leave `step` (answered), by its branch for `answer` or its `next`, and show what comes."""
        trigger = f"answer_{answer}" if answer in step.branch else "advance"
        resume = conversation.resume
        if not resume:
            conversation.history = [*conversation.history, step.id][-HISTORY_LIMIT:]
        if resume and resume != step.id:
            conversation.resume = None
            self._go(conversation, trigger)
            notices = self._notices(conversation)
            conversation.state = resume
            return Outcome(replies=[*notices, self.prompt(conversation)])
        self._go(conversation, trigger)
        return self._arrive(conversation)

    def _notices(self, conversation: Conversation) -> list[Reply]:
        """Say the notices on the way, and pass by steps with nothing to ask this conversation."""
        replies = []
        while True:
            step = self.spec.step(conversation.state)
            if step.kind == "notice":
                replies.append(self.prompt(conversation))
            elif not KINDS[step.kind].passes(self, conversation):
                return replies
            self._go(conversation, "advance")

    def _arrive(self, conversation: Conversation) -> Outcome:
        replies = self._notices(conversation)
        step = self.spec.step(conversation.state)
        if step.kind == "final":
            if step.end == "submit":
                return Outcome(replies=replies, end="submit")
            return Outcome(replies=[*replies, self.closing(conversation)], end=step.end)
        return Outcome(replies=[*replies, self.prompt(conversation)])

    def enter_addendum(self, conversation: Conversation, report_id: str) -> list[Reply]:
        """A valid receipt code was sent: collect an addition to that report."""
        assert self.spec.addendum is not None
        conversation.state = self.spec.addendum
        conversation.addendum_to = report_id
        conversation.answers.clear()
        conversation.history.clear()
        return [self.prompt(conversation)]

    def after_filing(self, report_id: str, language: str, country: str | None, said: Said) -> tuple[
            Conversation, Outcome]:
        """A message soon after this reporter filed `report_id`: offer to add it to that report or to
        start a new one (the message waits as the addition's first part). DELETE or CANCEL says
        truthfully that the filed report stays filed."""
        assert self.spec.after_filing is not None and self.spec.addendum is not None
        conversation = Conversation(state=self.spec.after_filing, language=language, country=country,
                                    addendum_to=report_id)
        text = (said.text or "").strip()
        if text and self.global_word(conversation, text) in ("delete", "cancel"):
            return conversation, Outcome(replies=[self.message(conversation, "deleted.filed")], end="discard")
        store = self.spec.step(self.spec.addendum).store
        if text and store:
            conversation.answers[store] = [text[: self.spec.step(self.spec.addendum).max_chars]]
        if said.location is not None:
            self.keep_place(conversation, said)
        return conversation, Outcome(replies=[self.prompt(conversation)])

    # -- one message ----------------------------------------------------------------------------

    def global_word(self, conversation: Conversation, text: str) -> str | None:
        """The global word `text` is, if any: in the reporter's language or in English; LANGUAGE in any.

        Forgives case, accents and a small typo in words of four letters or more."""
        folded = normalise(text)
        if not folded or len(folded) > MAX_WORD_CHARS:
            return None
        table = self._global_words.get(conversation.language) or self._global_words["en"]
        form = folded if folded in table else typo_of(folded, table)
        return table[form] if form else None

    def step(self, conversation: Conversation, said: Said) -> Outcome:
        """Apply one message to the conversation and say what to answer and do.

        In order: the end; a global word; files and pins (kept wherever they arrive); a question or
        a pause (answered, then the same step again, nothing stored); the step's own kind."""
        step = self.spec.step(conversation.state)
        kind = KINDS[step.kind]
        text = (said.text or "").strip()
        if kind.final:
            return kind.understand(self, conversation, step, said, text)
        word = self.global_word(conversation, text) if text and said.choice is None else None
        if word:
            return self._global(conversation, step, word)
        if said.media_count and text:
            return self._captioned(conversation, step, said, text)
        kept: list[Reply] = []
        if said.media_count and step.kind != "media":
            kept.append(self.message(conversation, "media.kept", count=len(conversation.media)))
        pinned = said.location is not None and not kind.takes_pin
        if pinned:
            kept.append(self.keep_place(conversation, said))
            said = Said(text=said.text, choice=said.choice, media_count=said.media_count)
        if kept and not text and said.choice is None:
            return Outcome(replies=[*kept, self.prompt(conversation)] if pinned else kept)
        if text and said.choice is None and not kind.aside_free:
            aside = self.aside(conversation, step, text)
            if aside is not None:
                return Outcome(replies=[*kept, *aside, self.prompt(conversation)])
        outcome = kind.understand(self, conversation, step, said, text)
        outcome.replies[:0] = kept
        return outcome

    def _captioned(self, conversation: Conversation, step: Step, said: Said, text: str) -> Outcome:
        """Files sent with words: the words are their caption, kept with them (shown in the review,
        filed for analysts). At a step with options, a caption that picks one also answers it."""
        caption = text[:CAPTION_CHARS]
        for item in conversation.media[-said.media_count:]:
            item["caption"] = caption
        replies = [self.message(conversation, "media.captioned", count=len(conversation.media))]
        if said.location is not None:
            replies.append(self.keep_place(conversation, said))
        kind = KINDS[step.kind]
        if kind.chooses and (said.choice or match_option(text, kind.options(self, step, self.locale(conversation)))):
            outcome = kind.understand(self, conversation, step, said, text)
            outcome.replies[:0] = replies
            return outcome
        return Outcome(replies=replies)

    def _global(self, conversation: Conversation, step: Step, word: str) -> Outcome:
        if word in ("delete", "cancel"):
            key = "deleted" if word == "delete" else "cancelled"
            if conversation.addendum_to:  # the report itself is filed: say what is erased, and what is not
                key = "deleted.filed"
            return Outcome(replies=[self.message(conversation, key)], end="discard")
        if word == "help":
            return Outcome(replies=[self.message(conversation, "help.message"), self.prompt(conversation)])
        if word == "restart":
            dropped, after = conversation.media, self._after_restart()
            if step.id not in after:
                after = set(self.spec.steps)
            conversation.answers = {s.store: conversation.answers[s.store] for s in self.spec.steps.values()
                                    if s.store in conversation.answers and s.id not in after}
            conversation.media, conversation.resume, conversation.addendum_to = [], None, None
            conversation.history = [h for h in conversation.history if h not in after]
            self._go(conversation, "restart")
            return Outcome(replies=[self.message(conversation, "restarted"), self.prompt(conversation)],
                           dropped=dropped)
        if word == "language" and self.language_step:
            if step.id != self.language_step:
                conversation.resume = conversation.resume or step.id
                self._go(conversation, "change_language")
            return Outcome(replies=[self.prompt(conversation)])
        # back
        history = [h for h in conversation.history if self.spec.step(h).kind != "notice"]
        if step.id == self.spec.addendum or not history:
            return Outcome(replies=[self.message(conversation, "back.none"), self.prompt(conversation)])
        conversation.state = history[-1]
        conversation.history = conversation.history[: conversation.history.index(history[-1])]
        conversation.resume = None
        return Outcome(replies=[self.prompt(conversation)])

    def _after_restart(self) -> set[str]:
        return reachable([self.spec.restart], self.spec.forward())

    def store(self, conversation: Conversation, step: Step, value: Any) -> None:
        if step.store:
            conversation.answers[step.store] = value

    def edit(self, conversation: Conversation, review: Step, target: Step) -> Outcome:
        """From the review, go back to `target` to change its answer, then return to the review."""
        conversation.resume = review.id
        if target.kind == "messages" and target.store:
            conversation.answers.pop(target.store, None)
        self._go(conversation, f"edit_{target.id}")
        return Outcome(replies=[self.prompt(conversation)])

    # -- understanding ----------------------------------------------------------------------------

    def understanding(self, conversation: Conversation) -> Understanding:
        """The reporter's language's examples (with English yes/no/done for code-switching)."""
        return self._understanding.get(conversation.language) or self._understanding["en"]

    def read(self, conversation: Conversation, text: str) -> tuple[Understanding, Reading]:
        understanding = self.understanding(conversation)
        return understanding, understanding.read(text)

    def yes_no(self, conversation: Conversation, text: str) -> str | None:
        """"yes", "no", or None (unsure, or both said): never a "no" read as "yes"."""
        understanding, reading = self.read(conversation, text)
        return understanding.yes_no(reading)

    def declines(self, conversation: Conversation, text: str, most: int) -> bool:
        """A short "no" ("no photos", "nope", "not now"), at most `most` words."""
        understanding, reading = self.read(conversation, text)
        return 0 < reading.size <= most and understanding.yes_no(reading) == "no" and not understanding.find(
            reading, ("done",))

    @staticmethod
    def _not_done(understanding: Understanding, reading: Reading) -> bool:
        """"not done", "nu am terminat": a done phrase after a negation; nothing ends or is skipped."""
        return any(understanding.negated(reading, match) for match in understanding.find(reading, ("done",)))

    def skips(self, conversation: Conversation, text: str) -> bool:
        """SKIP and its kin ("none", "no idea", "didn't see anyone") at an optional step, also when
        the rest only says what is not known ("no idea what their names are", "nu stiu cine sunt")."""
        understanding, reading = self.read(conversation, text)
        if self._not_done(understanding, reading):
            return False
        if understanding.says(reading, ("skip", "unsure"), spare=1) is not None:
            return True
        if understanding.opens_plainly(reading, ("skip", "unsure"), most=REFUSAL_WORDS, reasons=FEARS) is not None:
            return True
        return (0 < reading.size <= SHORT_NO and understanding.yes_no(reading) == "no"
                and not understanding.find(reading, ("done",)))  # "not done, sending more" is no skip

    def finished(self, conversation: Conversation, text: str, has_content: bool) -> bool:
        """DONE and its kin ("that's all", "é só isso", "that's all i can say"), never negated ("not
        done"); with something already sent, also a bare "no"."""
        understanding, reading = self.read(conversation, text)
        if self._not_done(understanding, reading):
            return False
        if understanding.says(reading, ("done",)) is not None:
            return True
        if understanding.opens_plainly(reading, ("done",)) is not None:
            return True
        return (has_content and 0 < reading.size <= 3 and understanding.yes_no(reading) == "no"
                and not understanding.find(reading, ("done",)))

    def ends_sending(self, conversation: Conversation, text: str, most: int) -> bool:
        """A short message that ends with DONE or a "none" ("ya mande los audios, listo", "got no
        pics sorry"): nothing more is coming."""
        understanding, reading = self.read(conversation, text)
        return 0 < reading.size <= most and understanding.ends_with(reading, ("done", "skip")) is not None

    def aside(self, conversation: Conversation, step: Step, text: str) -> list[Reply] | None:
        """The answer to a question or a pause, if `text` is one; None when it is an answer."""
        if len(text) > ASIDE_CHARS:
            return None
        understanding, reading = self.read(conversation, text)
        keeps_text = KINDS[step.kind].stores
        if reading.size == 0 or (keeps_text and reading.size > LONG_QUESTION):
            return None
        ranked = understanding.rank(reading, self.faq_topics)
        topics = self._topics(ranked)
        topic = topics[0] if topics else None
        writes = keeps_text and not KINDS[step.kind].chooses  # the answer is what was typed
        if keeps_text and reading.size > SHORT_TOKENS:
            if not writes or topic is None or not self._asks_at_length(understanding, reading):
                return None
            return self._answers(conversation, topics)
        if self._pauses(understanding, reading):
            if topic is None or not (self._asks_after_pause(understanding, reading) or ranked[0][1] >= 2.0):
                return [self.message(conversation, "pause.ack")]
            return self._answers(conversation, topics)
        if understanding.says(reading, self.faq_topics, spare=0) is not None:
            asks = True
        elif topic is not None:
            # "flat above the chippy, i think number 12?": a number with "?" and one weak topic word is an answer
            # "idk like a month ago?": a hedged answer where words are kept, however it ends
            unsure_answer = (ranked[0][1] < 2.0 and self._numbered(reading)) or (
                writes and self._hedged(understanding, reading))
            asks = (reading.marked and not unsure_answer) or reading.leads or self._asks_by_topic(
                understanding, step, reading, ranked[0])
            if step.kind == "messages":  # a description may contain a question; only a short one is an aside
                # "ela ta apanhando agora, ligo pra quem": two clauses, strongly about one topic
                strong = ranked[0][1] >= 2.0 and reading.size <= ASIDE_TOPIC_WORDS
                asks = asks and (reading.leads or len(reading.clauses) == 1 or strong) and reading.size <= 12
                asks = asks and (len(reading.clauses) == 1 or not self._tells_report(understanding, reading))
        else:
            asks = self._asks(conversation, step, reading) or self._asks_plainly(understanding, step, text, reading)
        # "ramane anonim sau nu": where a yes or no is asked for, or nothing typed is kept, a tail makes a question
        # ("jsp s'ils sont en danger ou pas" opens unsure: an answer to ask again)
        asks = asks or (reading.tailed and reading.size <= ASIDE_YES_NO_WORDS and (
            step.kind == "yes_no" or not keeps_text) and understanding.opens_with(reading, ("unsure",)) is None)
        if not asks and not (writes and topic is not None and self._asks_at_length(understanding, reading)):
            return None
        if topic is None:
            return [self.message(conversation, "faq.unknown")]
        return self._answers(conversation, topics)

    @staticmethod
    def _topics(ranked: list[tuple[str, float]]) -> list[str]:
        """The FAQ topic a message is about (a score of 1 or more, ahead of the rest); or the two it
        is equally about ("who would be contacting me, police?": who reads it, and what happens next)."""
        if not ranked or ranked[0][1] < 1.0:
            return []
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            return [ranked[0][0]]
        if len(ranked) == 2 or ranked[1][1] > ranked[2][1]:
            return [ranked[0][0], ranked[1][0]]
        return []

    def _answers(self, conversation: Conversation, topics: list[str]) -> list[Reply]:
        """The FAQ answer to each topic, in the reporter's language."""
        return [self.message(conversation, topic, **self.helplines(conversation)) for topic in topics]

    def _asks_at_length(self, understanding: Understanding, reading: Reading) -> bool:
        """A longer message about an FAQ topic that is made of questions ("if they go thru my phone
        will they see this chat??"; "y esto lo lee la policia o quien? xq yo no confio en la poli"):
        every clause but ASIDE_STATEMENT_WORDS words in all asks (a question mark closes it, or it
        opens with a question word), and nothing in it tells of a report (its words score less than
        REPORT_WORDS for every category): a description that asks "is this legal?" is kept."""
        if not reading.asked or reading.size > LONG_QUESTION or self._numbered(reading):  # "i think number 12?"
            return False
        said = 0
        for start, end in reading.clauses:
            opening = start
            while opening < end - 1 and reading.words[opening] in understanding.fillers:
                opening += 1
            if end not in reading.asked and reading.words[opening] not in understanding.questions:
                said += end - start
        return said <= ASIDE_STATEMENT_WORDS and not self._tells_report(understanding, reading)

    def _tells_report(self, understanding: Understanding, reading: Reading) -> bool:
        """Its words score REPORT_WORDS or more for a category: it tells something of a report."""
        ranked = understanding.rank(reading, self.categories)
        return bool(ranked) and ranked[0][1] >= REPORT_WORDS

    @staticmethod
    def _pauses(understanding: Understanding, reading: Reading) -> bool:
        """A pause: a pause phrase with at most two other words, or a short message opening with
        one ("wait someone is here"), or one that opens and ends with one ("hang on someones at the
        door brb")."""
        if understanding.says(reading, ("wait",), spare=2):
            return True
        if reading.size > ASIDE_TOPIC_WORDS or not understanding.opens_with(reading, ("wait",)):
            return False
        return reading.size <= 6 or understanding.ends_with(reading, ("wait",)) is not None

    @staticmethod
    def _asks_by_topic(understanding: Understanding, step: Step, reading: Reading, ranked: tuple[str, float]) -> bool:
        """Questions typed with no mark and no leading question word ("y si le estan pegando ahorita a
        quien llamo", "c anonyme ou pas"): a short message strongly about one FAQ topic (a phrase of its
        examples, or two of its distinctive words) is one; at a yes/no step any short message about one
        is (unless it opens with a yes or a no), since reading it as "no" there could end the report the
        reporter was asking about. A whole question of a topic's examples (SURE_TOPIC words, "will they
        find out it was me") is one in any message short enough to be an aside."""
        topic, score = ranked
        # "гадки не маю хто це" (no idea who this is) answers "who was there?"; so does "rather not, i'm afraid"
        if step.optional and understanding.opens_plainly(reading, ("unsure", "skip"), most=REFUSAL_WORDS,
                                                         reasons=FEARS):
            return False
        if step.kind == "yes_no":
            # "pls dont contact me again" answers; "co an danh ko vay" opens with a question, not with "co" (yes)
            # "hmm idk is this safe": not knowing, then a question, asks
            refuses = not reading.marked and score < 2.0 and reading.words[reading.lead] in understanding.negations
            opener = understanding.opens_with(reading, ("yes", "no", "unsure", topic))
            if opener == "unsure" and not ReportFlow._hedged(understanding, reading):
                opener = None
            return reading.size <= ASIDE_YES_NO_WORDS and not refuses and opener in (None, topic)
        if not KINDS[step.kind].stores:  # nothing typed here is kept: a message strongly about a topic asks
            # or a short one about it with a question word anywhere ("e agora o que acontece")
            return score >= 2.0 or (reading.size <= QUESTION_WORDS and any(
                word in understanding.questions for word in reading.words[reading.lead:]))
        if reading.size <= ASIDE_TOPIC_WORDS:
            return score >= 2.0
        return any(match.end - match.start >= SURE_TOPIC for match in understanding.find(reading, (topic,)))

    @staticmethod
    def _asks_plainly(understanding: Understanding, step: Step, text: str, reading: Reading) -> bool:
        """A yes/no question has no question word ("will someone find out it was me?", "o sa afle
        cineva?"): at a step that keeps one typed answer, a message of PLAIN_QUESTION words or more
        that ends with a question mark is a question, when its last clause is a sentence with no
        number (not "i think no. 23?"). Shorter ones ("near the church?") are answers. In a
        description, only a short one-clause message ("vcs pagam recompensa?") is; at a yes/no step,
        any with "?" and no yes or no in it ("placicie za informacje?")."""
        if not text.rstrip().endswith(("?", "\u061f")) or ReportFlow._numbered(reading):  # "i think number 12?"
            return False
        if ReportFlow._hedged(understanding, reading):  # "idk like a month ago?"
            return False
        start, end = reading.clauses[-1]
        if step.kind == "messages":
            return len(reading.clauses) == 1 and 2 <= reading.size <= PLAIN_QUESTION + 1
        if step.kind == "yes_no" and reading.size >= 2 and not understanding.find(reading, ("yes", "no", "unsure")):
            return not any(word in understanding.negations for word in reading.words)
        return reading.size >= PLAIN_QUESTION and end - start >= PLAIN_QUESTION - 1

    @staticmethod
    def _hedged(understanding: Understanding, reading: Reading) -> bool:
        """It opens with not knowing and goes on with no question word ("idk like a month ago?",
        "quien sabe, a lo mejor"): an unsure answer, whatever mark ends it; "idk is this safe" asks."""
        matches = understanding.find(reading, ("unsure",))
        if not matches or matches[0].start not in (0, reading.lead):
            return False
        after = matches[0].end
        while after < reading.size and reading.words[after] in understanding.fillers:
            after += 1
        # ("qui sait, peut etre": "peut" opens questions, and "peut etre", maybe)
        return (after >= reading.size or reading.words[after] not in understanding.questions
                or any(match.start == after for match in matches))

    @staticmethod
    def _numbered(reading: Reading) -> bool:
        """The last clause has a number in it (a house number, a time, a count): an answer's."""
        start, end = reading.clauses[-1]
        return any(word[0].isdigit() for word in reading.words[start:end])

    @staticmethod
    def _asks_after_pause(understanding: Understanding, reading: Reading) -> bool:
        """"wait, who will see this": a pause word, then a question (a question mark, or a question
        word right after the pause)."""
        if reading.marked:
            return True
        pause = understanding.find(reading, ("wait",))[0]
        after = pause.end
        while after < reading.size and reading.words[after] in understanding.fillers:
            after += 1
        return after < reading.size and reading.words[after] in understanding.questions

    def _asks(self, conversation: Conversation, step: Step, reading: Reading) -> bool:
        """A question the FAQ does not cover: it opens with a question word and has a question
        mark; or, short and at a step that takes one answer, opens with a question word the step's
        own question does not use ("how does this work" at "where?", but not "when i got home" at
        "when?"); in a description, when it is one short clause with no number ("do you give money
        for info"); or, short and with a question mark, has a question word further on ("il se passe
        quoi après ?", "هيحصل ايه؟"). At a yes/no step, a yes, no or unsure phrase that opens the message
        unasked ("так, можу писати": yes, I can write; "quien sabe, a lo mejor") answers it, even when
        it is also a filler or a question word."""
        understanding = self.understanding(conversation)
        if step.kind == "yes_no" and not reading.marked and any(
                match.start in (0, reading.lead) and (match.meaning != "unsure" or self._hedged(understanding, reading))
                for match in understanding.find(reading, ("yes", "no", "unsure"))):
            return False
        if not reading.leads:
            return (reading.marked and reading.size <= QUESTION_WORDS
                    and any(w in understanding.questions and w not in understanding.common
                            for w in reading.words[reading.lead:]))
        if reading.marked:
            return True
        if step.kind == "messages":
            return len(reading.clauses) == 1 and reading.size <= SHORT_QUESTION and not self._numbered(reading)
        if reading.size > QUESTION_WORDS:
            return False
        return not self._answers_with(conversation, step, reading)

    def _answers_with(self, conversation: Conversation, step: Step, reading: Reading) -> bool:
        """The message opens with the question word of the step's own question ("when i got home"
        at "When did it happen?"): an answer, not a question."""
        asked = self._prompt_words.get((conversation.language, step.id))
        if asked is None:
            understanding = self.understanding(conversation)
            prompt = self.locale(conversation).messages.get(step.prompt, "")
            opening = [understanding.canonical(w) for w in words_of(prompt)]
            asked = self._prompt_words[(conversation.language, step.id)] = frozenset(
                [w for w in opening if w in understanding.questions][:1])
        return reading.lead < reading.size and reading.words[reading.lead] in asked

    def place(self, said: Said) -> dict[str, Any]:
        assert said.location is not None
        loc = said.location
        place: dict[str, Any] = {"latitude": loc.latitude, "longitude": loc.longitude}
        place.update({k: v for k, v in (("address", loc.address), ("label", loc.label)) if v})
        return place

    def keep_place(self, conversation: Conversation, said: Said) -> Reply:
        """A pin shared at a step that does not ask for one: the report's place if it has none
        yet, else an extra place (at most MAX_PLACES)."""
        place = self.place(said)
        if self.location_store and not conversation.answers.get(self.location_store):
            conversation.answers[self.location_store] = place
        else:
            places = list(conversation.answers.get("places") or [])
            if len(places) < MAX_PLACES:
                conversation.answers["places"] = [*places, place]
        return self.message(conversation, "location.kept")
