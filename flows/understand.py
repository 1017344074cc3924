"""Understanding what reporters type, from examples kept in the locale files (as Rasa keeps `nlu.yml`).

Each locale lists examples per meaning ("yes", "no", "unsure", "done", "skip", "wait", "faq.<topic>",
"<step>.<option>"), words that negate, words that open a question, and fillers ("hi", "well").
`Understanding` is built once per locale at start-up; reading a message is a few dictionary look-ups,
with rapidfuzz's Levenshtein distance (C) for typos. Nothing a reporter types leaves the process.

What a caller may rely on: a "no" (a negation or a no-phrase) is never read as "yes"; when signals
disagree the answer is None (ask again), never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

_ARABIC = str.maketrans({
    # alef with hamza above/below, madda, wasla -> alef; alef maqsura -> ya; ta marbuta -> ha;
    # hamza on waw/ya -> waw/ya; tatweel dropped; Arabic punctuation -> Latin
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627", "\u0649": "\u064a",
    "\u0629": "\u0647", "\u0624": "\u0648", "\u0626": "\u064a", "\u0640": None,
    "\u061f": "?", "\u060c": ",", "\u061b": ";",
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic (Persian, Urdu) digits
})
LETTERS_WITHOUT_ACCENTS = str.maketrans({
    # letters Unicode does not decompose into a base letter and a mark, typed without them on many
    # phones: Vietnamese đ ("ai se doc" is "ai sẽ đọc"), Polish ł, Nordic ø, Maltese ħ, Turkish dotless i
    "\u0111": "d", "\u0110": "d", "\u0142": "l", "\u0141": "l", "\u00f8": "o", "\u00d8": "o",
    "\u0127": "h", "\u0126": "h", "\u0131": "i",
})
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_APOSTROPHES = re.compile("['`\u2019\u2018\u00b4\u02bc]")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_BOUNDARY = set(",.;:!?¿¡…\n")
_ASKING = {"?"}
"""The mark that closes a question (folding makes "؟" one)."""
_TRAILING = {"\u2026"}
"""An ellipsis ("…", or two dots or more) that trails off before a change of mind."""
_ARTICLE = re.compile("^(?:وال|بال|فال|كال|لل|ال)(?=...)")
_VERB_PREFIX = re.compile("^(?:\u0631\u062d|\u062d|\u0647|\u0628|\u0647\u064a|\u0628\u064a)(?=[\u064a\u062a\u0646]..)")
"""Dialect tense prefixes on an Arabic verb (Egyptian ha-/ha- "will", Levantine rah "will", bi- "is
doing"): "حيقرا" and "بيقرا" are "يقرا" (reads)."""
REASON_WORDS = 2
"""A reason given after a refusal ("..., mi-e frica") has at most this many words besides its own."""
SHORT_TOKENS = 16
"""Messages longer than this (in words) are answers, never asides or yes/no words."""


def fold(text: str) -> str:
    """Fold text for matching: Arabic letter and digit variants, invisible marks, emoji modifiers,
    accents, case and apostrophes ("don't" and "dont" are one word)."""
    text = _INVISIBLE.sub("", text.translate(_ARABIC).translate(LETTERS_WITHOUT_ACCENTS))
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _APOSTROPHES.sub("", stripped.casefold())


def words_of(text: str) -> list[str]:
    """The words (and emoji) of a folded phrase, punctuation dropped."""
    return [t for t in _TOKEN.findall(fold(text)) if t[0].isalnum() or t[0] == "_" or _is_symbol(t)]


def _is_symbol(token: str) -> bool:
    return unicodedata.category(token[0]) in ("So", "Sk")


def _squeezed(token: str) -> str:
    """'nooo' -> 'no', 'yesss' -> 'yes': letters people repeat for emphasis."""
    return re.sub(r"(.)\1+", r"\1", token)


_FEMININE = re.compile("(?<=[\u0621-\u064a]{3})(?:\u0627\u062a|\u0647)$")
"""An Arabic feminine ending, singular (ta marbuta, folded to ha) or plural (-at): "شغالة", "شغالات"."""


def bag_key(token: str) -> str:
    """A crude stem for topic words: no Arabic article nor feminine ending ("الشغالات" is "شغالة"),
    the first five letters of long words."""
    token = _FEMININE.sub("", _VERB_PREFIX.sub("", _ARTICLE.sub("", token)))
    return token[:5] if len(token) >= 6 else token


@dataclass(frozen=True)
class Match:
    meaning: str
    start: int
    end: int


@dataclass(frozen=True)
class Reading:
    """One message, tokenised: canonical words, clause spans, and whether it asks something."""

    words: tuple[str, ...]
    clauses: tuple[tuple[int, int], ...]
    marked: bool
    """It has a question mark (?, ؟, ¿)."""
    leads: bool
    """Its first word after fillers opens a question (who, qué, هل, ...)."""
    lead: int
    """Index of the first word that is not a filler (greeting, "well", "ok so")."""
    corrected: frozenset[int] = frozenset()
    """Where clauses start that follow a correction ("yes... actually | no")."""
    phrases: tuple[Match, ...] = ()
    """Every example phrase of every meaning in the message (overlapping), found once when read."""
    asked: frozenset[int] = frozenset()
    """Where clauses end that a question mark closes ("i think so?? he gets back at 6": the first)."""
    tailed: bool = False
    """It ends with a tail of a question or is framed as one ("... or not", "co ... khong"), no "?"."""

    @property
    def size(self) -> int:
        return len(self.words)

    def clause_of(self, index: int) -> int:
        return next(i for i, (start, end) in enumerate(self.clauses) if start <= index < end)


@dataclass
class Understanding:
    """One language's examples, indexed for fast reading."""

    examples: Mapping[str, tuple[str, ...]]
    negations: frozenset[str] = frozenset()
    questions: frozenset[str] = frozenset()
    fillers: frozenset[str] = frozenset()
    common: frozenset[str] = frozenset()
    corrections: tuple[tuple[str, ...], ...] = ()
    """Words that take back what came before ("i mean", "o sea", "de fapt"): a clause ends there."""
    contrasts: frozenset[str] = frozenset()
    """Words that bring a condition or more to say ("but", "only", "pero", "nomás", "بس"): "yes but
    only by text" is a yes; "no idea, but one is tall" says more than "no idea"."""
    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Short or dialect spellings, folded, and the words they stand for ("ko" -> "khong", "q" -> "que")."""
    tails: tuple[tuple[str, ...], ...] = ()
    """Phrases that close a question typed with no question mark ("or not", "ou pas", "không vậy")."""
    frames: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    """An opening and a closing phrase around a question ("có ... không": "co an danh ko")."""
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    vocabulary: dict[str, None] = field(default_factory=dict)
    weights: dict[str, dict[str, float]] = field(default_factory=dict)
    _plain: frozenset[str] = frozenset()
    """Fillers and common words: a typo is never corrected into one ("الكلام" is not "السلام")."""
    _canon: dict[str, str] = field(default_factory=dict)
    _quiet: frozenset[str] = frozenset()
    """Words that say nothing of their own next to a meaning: fillers, common, question, negation and
    contrast words."""
    _own: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each meaning's example words."""
    _last: tuple[str, Reading | None] = ("", None)

    @classmethod
    def build(cls, examples: Mapping[str, Iterable[str]], negations: Iterable[str] = (),
              questions: Iterable[str] = (), fillers: Iterable[str] = (), common: Iterable[str] = (),
              corrections: Iterable[str] = (), contrasts: Iterable[str] = (),
              spellings: Mapping[str, Iterable[str]] | None = None, tails: Iterable[str] = ()) -> Understanding:
        spelled = {fold(variant): tuple(words_of(word)) for word, variants in (spellings or {}).items()
                   for variant in variants if words_of(word)}

        def respelled(text: str) -> list[str]:
            return [w for word in words_of(text) for w in spelled.get(word, (word,))]

        def folded(items: Iterable[str]) -> frozenset[str]:
            return frozenset(w for item in items for w in respelled(item))

        meaning_words = {meaning: tuple(e for e in items) for meaning, items in examples.items()}
        self = cls(examples=meaning_words, negations=folded(negations), questions=folded(questions),
                   fillers=folded(fillers), common=folded(common),
                   corrections=tuple(sorted({tuple(words_of(c)) for c in corrections if words_of(c)}, key=len,
                                            reverse=True)),
                   contrasts=folded(contrasts), spellings=spelled)
        for tail in tails:
            opening, framed, closing = (tuple(respelled(part)) for part in tail.partition("..."))
            if closing and opening:
                self.frames += ((opening, closing),)
            elif not framed and opening:
                self.tails += (opening,)
        self._plain = (self.fillers | self.common) - self.negations - self.questions
        self._quiet = self.fillers | self.common | self.negations | self.questions | self.contrasts
        keys_by_meaning: dict[str, set[str]] = {}
        for meaning, items in meaning_words.items():
            for example in items:
                phrase = tuple(respelled(example))
                if not phrase:
                    continue
                self.phrases.setdefault(phrase[0], []).append((phrase, meaning))
                self.vocabulary.update(dict.fromkeys(phrase))
                keys_by_meaning.setdefault(meaning, set()).update(
                    bag_key(w) for w in phrase if len(w) >= 3 or _is_symbol(w))
                self._own[meaning] = self._own.get(meaning, frozenset()) | frozenset(phrase)
        for options in self.phrases.values():
            options.sort(key=lambda item: -len(item[0]))
        self.vocabulary.update(dict.fromkeys([*self.negations, *self.questions, *self.fillers, *self.common]))
        self.vocabulary.update(dict.fromkeys(w for phrase in (*self.tails, *(p for f in self.frames for p in f))
                                             for w in phrase))
        spread: dict[str, int] = {}
        for keys in keys_by_meaning.values():
            for key in keys:
                spread[key] = spread.get(key, 0) + 1
        plain = {bag_key(w) for w in self.questions | self.fillers | self.negations | self.common}
        for meaning, keys in keys_by_meaning.items():
            self.weights[meaning] = {k: 1.0 / spread[k] for k in keys if spread[k] <= 2 and k not in plain}
        return self

    # -- reading ------------------------------------------------------------------------------

    def canonical(self, word: str) -> str:
        """The example word `word` is (itself, or the one word it is a small typo of), else itself."""
        if word in self.vocabulary:
            return word
        known = self._canon.get(word)
        if known is not None:
            return known
        result = word
        squeezed = _squeezed(word)
        if squeezed in self.vocabulary:
            result = squeezed
        elif len(word) >= 5 and word.isalpha():
            cutoff = 2 if len(word) >= 8 else 1
            near = process.extract(word, list(self.vocabulary), scorer=Levenshtein.distance,
                                   score_cutoff=cutoff, limit=3)
            # never into a filler or common word, nor a short word into a negation ("phong" is not "khong"),
            # nor into a word of four letters ("still" is not "till")
            near = [n for n in near if len(n[0]) >= 5 and n[0] not in self._plain
                    and not (len(word) < 6 and n[0] in self.negations)]
            best = min((n[1] for n in near), default=None)
            closest = [n[0] for n in near if n[1] == best]
            if len(closest) == 1:
                result = closest[0]
        if len(self._canon) < 20000:
            self._canon[word] = result
        return result

    def read(self, text: str) -> Reading:
        last = self._last  # one step reads its message several times (aside, then the step's kind)
        if last[0] == text and last[1] is not None:
            return last[1]
        words: list[str] = []
        clauses: list[tuple[int, int]] = []
        start = 0
        marked = "?" in text or "\u061f" in text or "\u00bf" in text
        tokens = _TOKEN.findall(fold(text))
        corrected: set[int] = set()
        asked: set[int] = set()
        index = 0
        while index < len(tokens):
            token = tokens[index]
            taken_back = self._correction_at(tokens, index)
            if token in _BOUNDARY or taken_back:
                if len(words) > start:
                    clauses.append((start, len(words)))
                if words and token in _ASKING:
                    asked.add(len(words))
                start = len(words)
                # "yes... no": a trailing-off ellipsis takes back what came before, as "i mean" does
                trailing = token in _TRAILING or tokens[index:index + 2] == [".", "."]
                if taken_back or (trailing and words):
                    corrected.add(start)
                index += max(taken_back, 1)
                continue
            if token in self.spellings:
                words.extend(self.spellings[token])
            elif token[0].isalnum() or _is_symbol(token):
                words.append(self.canonical(token))
            index += 1
        if len(words) > start:
            clauses.append((start, len(words)))
        lead = 0
        while lead < len(words) and words[lead] in self.fillers:
            lead += 1
        # a question word that ends a message without "?" is an answer ("так, можу": yes, I can)
        leads = lead < len(words) and words[lead] in self.questions and (marked or lead < len(words) - 1)
        tailed = not marked and self._tailed(words, lead, clauses[0][1] if clauses else 0)  # "c anonyme ou pas"
        if tailed:
            marked = True
            asked.add(len(words))
        found = []
        for clause_start, clause_end in clauses:
            for i in range(clause_start, clause_end):
                for phrase, meaning in self.phrases.get(words[i], ()):
                    if i + len(phrase) <= clause_end and tuple(words[i:i + len(phrase)]) == phrase:
                        found.append(Match(meaning, i, i + len(phrase)))
        reading = Reading(words=tuple(words), clauses=tuple(clauses), marked=marked, leads=leads, lead=lead,
                          corrected=frozenset(corrected), phrases=tuple(found), asked=frozenset(asked),
                          tailed=tailed)
        self._last = (text, reading)
        return reading

    def _tailed(self, words: list[str], lead: int, first_end: int) -> bool:
        """The message ends with a tail of a question ("or not"), or a frame opens and closes it
        round at least one word of the same clause ("co an danh ko", not "co, nhung ... khong")."""
        if any(len(words) > len(tail) and tuple(words[-len(tail):]) == tail for tail in self.tails):
            return True
        return any(tuple(words[lead:lead + len(opening)]) == opening and tuple(words[-len(closing):]) == closing
                   and first_end > lead + len(opening) and len(words) - lead > len(opening) + len(closing)
                   for opening, closing in self.frames)

    def _correction_at(self, tokens: list[str], index: int) -> int:
        """How many tokens a correction ("i mean", "enfin") starting at `index` spans, else 0."""
        for phrase in self.corrections:
            if tuple(tokens[index:index + len(phrase)]) == phrase:
                return len(phrase)
        return 0

    def find(self, reading: Reading, meanings: Collection[str]) -> list[Match]:
        """Non-overlapping example phrases of `meanings` in the message, longest first."""
        found = [match for match in reading.phrases if match.meaning in meanings]
        if len(found) < 2:
            return found
        found.sort(key=lambda m: (m.start - m.end, m.start))
        chosen: list[Match] = []
        taken: set[int] = set()
        for match in found:
            span = set(range(match.start, match.end))
            if not span & taken:
                chosen.append(match)
                taken |= span
        return sorted(chosen, key=lambda m: m.start)

    def uncovered(self, reading: Reading, matches: list[Match]) -> list[int]:
        """Indices of words no match covers, fillers left out."""
        covered = {i for m in matches for i in range(m.start, m.end)}
        return [i for i, w in enumerate(reading.words) if i not in covered and w not in self.fillers]

    # -- decisions ------------------------------------------------------------------------------

    def yes_no(self, reading: Reading) -> str | None:
        """"yes", "no", or None when unsure or the message says both.

        The first clause decides when it is clear ("si, por whatsapp mejor" is yes) unless a later
        clause answers the other way (at its start or end): then the answer is None, except that a
        "no" after a correction word ("yes... actually no", "da, adica nu") is "no". A correction
        never turns a "no" into "yes". A negation word no longer phrase explains says "no" where it
        opens or closes a clause ("no, ahora mismo no", "creo q no", "mesh delwa2ti"), and turns the
        yes-word right after it into "no" ("not ok", "nu e ok"); inside a sentence it negates
        something else ("she can't leave"): then, with nothing clearer, the answer is None."""
        if reading.size == 0:
            return None
        words = reading.words
        matches = [m for m in self.find(reading, ("yes", "no", "unsure"))
                   if not (m.end - m.start == 1 and (words[m.start] in self.negations
                                                     or self._common_inside(reading, m.start)))]
        covered = {i for m in matches for i in range(m.start, m.end)}
        negations = {i for i, w in enumerate(words) if w in self.negations and i not in covered
                     and not self._common_inside(reading, i)}
        signals = [(m.start, m.end, "no" if m.meaning == "yes" and self._negated(reading, m.start, negations)
                    else m.meaning) for m in matches]
        edges = {index for clause in reading.clauses for index in self._edges(reading, clause)}
        edges |= {i + 1 for i in range(reading.size - 1) if self._refuses_after(reading, i)}
        signals += [(i, i + 1, "no") for i in sorted(negations) if i in edges]
        signals = self._without_lone_fillers(reading, signals)
        if not signals or any(meaning == "unsure" for _, _, meaning in signals) or self._asked_back(reading, signals):
            return None
        if self._conditional_yes(reading, signals):
            return "yes"
        first = reading.clauses[0]
        opening, closing = self._edges(reading, first)
        in_first = [signal for signal in signals if first[0] <= signal[0] < first[1]]
        refusal = next((end for start, end, meaning in in_first if start == opening and meaning == "no"), None)
        if refusal is not None:
            # a clause that opens with "no" is not turned by a yes-word well inside it ("cant now my
            # boss is right here"); one next to it ("not really sure") or closing it ("no its ok") is
            in_first = [(start, end, meaning) for start, end, meaning in in_first
                        if meaning == "no" or end - 1 == closing or start < refusal + 3]
        leading = {meaning for _, _, meaning in in_first}
        if len(leading) != 1:
            meanings = {meaning for _, _, meaning in signals}
            return next(iter(meanings)) if len(meanings) == 1 else None
        answer = next(iter(leading))
        for clause in reading.clauses[1:]:
            opening, closing = self._edges(reading, clause)
            short = sum(1 for i in range(*clause) if words[i] not in self.fillers) <= 2
            here = [(start, end, meaning) for start, end, meaning in signals if clause[0] <= start < clause[1]]
            turns = {meaning for start, end, meaning in here if (end - 1 == closing and not self._describes(
                reading, (start, end, meaning), clause)) or (start == opening and short)}
            if clause[0] in reading.corrected:  # taken back: a no opening it counts, however long the clause
                turns |= {meaning for start, _, meaning in here if start == opening}
            if turns == {"no"} and clause[0] in reading.corrected:
                answer = "no"
            elif (turns and turns != {answer}) or any(start == opening and meaning != answer
                                                       for start, _, meaning in here):
                answer = ""
        return answer or None

    def _common_inside(self, reading: Reading, index: int) -> bool:
        """Word `index` is a common word of this language with other words in its clause: a borrowed
        "no" there is a pronoun or an article ("co, no dang danh chi ay": yes, he is beating her)."""
        if reading.words[index] not in self.common:
            return False
        start, end = reading.clauses[reading.clause_of(index)]
        return any(i != index and reading.words[i] not in self.fillers for i in range(start, end))

    def _describes(self, reading: Reading, signal: tuple[int, int, str], clause: tuple[int, int]) -> bool:
        """A one-word yes closing a later clause after a word of its own describes something ("nu
        cred, acum sunt ok": no, they are ok now); it answers nothing."""
        start, end, meaning = signal
        return meaning == "yes" and end - start == 1 and any(
            reading.words[i] not in self._quiet for i in range(clause[0], start))

    @staticmethod
    def _asked_back(reading: Reading, signals: list[tuple[int, int, str]]) -> bool:
        """The first answer is a yes asked back, a question mark closing it ("i think so?? he gets
        back at 6", "yes?"): the reporter is not sure."""
        start, end, meaning = min(signals)
        return meaning == "yes" and end == reading.clauses[reading.clause_of(start)][1] and end in reading.asked

    def _conditional_yes(self, reading: Reading, signals: list[tuple[int, int, str]]) -> bool:
        """A yes with a condition: the message opens with yes, then "but" or "only" and something of
        its own ("si pero nomas por mensaje, no me llamen", "pode sim mas so msg, ligacao nao"): a
        negation there is part of the condition. Not when what follows is itself a no or unsure
        phrase ("yes but not now", "si pero no puedo"), opens with a negation ("sim mas nao agora"),
        has nothing of its own ("yes but i cant"), or is taken back by a correction."""
        words = reading.words
        ordered = sorted(signals)
        if ordered[0][2] != "yes" or ordered[0][0] > reading.lead:
            return False
        ends = {start: end for start, end, meaning in ordered if meaning == "yes"}
        after = ordered[0][1]
        while after < reading.size and words[after] not in self.contrasts:
            if after in ends:
                after = ends[after]
            elif words[after] in self.fillers:
                after += 1
            else:
                return False
        if after + 1 >= reading.size or self._refuses_after(reading, after) or any(
                start > after for start in reading.corrected):
            return False
        if any(start > after and (end - start > 1 or meaning == "unsure") and meaning != "yes"
               for start, end, meaning in ordered):
            return False
        covered = {i for start, end, _ in ordered for i in range(start, end)}
        return any(words[i] not in self._quiet and i not in covered for i in range(after + 1, reading.size))

    def _refuses_after(self, reading: Reading, index: int) -> bool:
        """Word `index` is "but", and a refusal follows it: a negation alone or with a word of the
        no-examples ("sim mas nao agora", "yes but not now"), not one with a thing of its own ("oui
        mais pas d'appel" is a condition)."""
        words = reading.words
        if words[index] not in self.contrasts or index + 1 >= reading.size or words[index + 1] not in self.negations:
            return False
        return index + 2 >= reading.size or words[index + 2] in self._own.get("no", frozenset())

    def _negated(self, reading: Reading, index: int, negations: set[int]) -> bool:
        """The yes-word at `index` follows a negation in its clause, next to it or past one short
        word ("not ok", "nu e ok", "não tá bom")."""
        clause = reading.clause_of(index)
        before = [i for i in (index - 1, index - 2) if i >= 0 and reading.clause_of(i) == clause]
        if before and before[0] in negations:
            return True
        return len(before) == 2 and before[1] in negations and len(reading.words[index - 1]) <= 4

    def _without_lone_fillers(self, reading: Reading, signals: list[tuple[int, int, str]]) -> list[
            tuple[int, int, str]]:
        """A filler that is also a yes-word ("ok", "bueno") says nothing when its clause says more:
        "ok no thanks" is no."""
        def lone_filler(signal: tuple[int, int, str]) -> bool:
            start, end, _ = signal
            if end - start != 1 or reading.words[start] not in self.fillers:
                return False
            clause = reading.clause_of(start)
            return any(other[0] != start and reading.clause_of(other[0]) == clause for other in signals)
        return [signal for signal in signals if not lone_filler(signal)]

    def _edges(self, reading: Reading, clause: tuple[int, int]) -> tuple[int, int]:
        """The first word of a clause that is not a filler, and its last word."""
        start, end = clause
        while start < end - 1 and reading.words[start] in self.fillers:
            start += 1
        return start, end - 1

    def says(self, reading: Reading, meanings: Collection[str], spare: int = 2, most: int = 8) -> str | None:
        """The one meaning of `meanings` the message is made of (at most `spare` other words and
        `most` words in all), else None."""
        if not 0 < reading.size <= most:
            return None
        matches = self.find(reading, meanings)
        kinds = {m.meaning for m in matches}
        if len(kinds) != 1 or len(self.uncovered(reading, matches)) > spare:
            return None
        return next(iter(kinds))

    def opens_plainly(self, reading: Reading, meanings: Collection[str], spare: int = 1, most: int = 8,
                      reasons: Collection[str] = ()) -> str | None:
        """The meaning of `meanings` a short message opens with when the rest only says more of the
        same ("no idea what their names are", "thats all i can say"): its other words are fillers,
        common, question or negation words or words of those meanings' examples, but for `spare` in
        the first clause and none in later ones. A "but" or "only" after it says something more.
        A later clause may instead give a reason, a word of the `reasons` meanings' examples with at
        most REASON_WORDS others ("prefer sa nu spun numele, mi-e frica": I'd rather not, I'm afraid)."""
        if not 0 < reading.size <= most:
            return None
        matches = self.find(reading, meanings)
        opening = reading.lead
        while opening < reading.size and (reading.words[opening] in self.common  # "em ko biet": I don't know
                                          or reading.words[opening] in self.fillers):
            opening += 1
        if not matches or matches[0].start not in (reading.lead, opening) or self.negated(reading, matches[0]):
            return None
        own = frozenset().union(*(self._own.get(meaning, frozenset()) for meaning in meanings))
        why = frozenset().union(*(self._own.get(meaning, frozenset()) for meaning in reasons))
        first_end = reading.clauses[0][1]
        others = 0
        later: dict[int, list[str]] = {}
        for index in range(matches[0].end, reading.size):
            word = reading.words[index]
            if word in own:
                continue
            if word in self.contrasts:
                return None
            if word not in self._quiet:
                if index >= first_end:
                    later.setdefault(reading.clause_of(index), []).append(word)
                else:
                    others += 1
        if any(not why.intersection(words) or len(words) > REASON_WORDS + 1 for words in later.values()):
            return None
        return matches[0].meaning if others <= spare else None

    def ends_with(self, reading: Reading, meanings: Collection[str]) -> str | None:
        """The meaning of `meanings` whose example ends the message (before trailing fillers), and
        no negation comes before it in its clause ("ya mande los audios, listo"; not "not done")."""
        matches = self.find(reading, meanings)
        if not matches:
            return None
        last = matches[-1]
        end = reading.size
        while end > last.end and reading.words[end - 1] in self.fillers:
            end -= 1
        clause = reading.clauses[reading.clause_of(last.start)]
        if last.end != end or any(reading.words[i] in self.negations for i in range(clause[0], last.start)):
            return None
        return last.meaning

    def negated(self, reading: Reading, match: Match) -> bool:
        """A negation right before the match, or one short word before it, in its clause ("not
        done", "nu am terminat")."""
        clause = reading.clauses[reading.clause_of(match.start)]
        return any(reading.words[i] in self.negations for i in range(max(clause[0], match.start - 2), match.start))

    def opens_with(self, reading: Reading, meanings: Collection[str]) -> str | None:
        """The meaning of `meanings` whose example the message starts with (after fillers)."""
        matches = self.find(reading, meanings)
        return matches[0].meaning if matches and matches[0].start == reading.lead else None

    def rank(self, reading: Reading, meanings: Collection[str]) -> list[tuple[str, float]]:
        """Meanings by how many of their distinctive words the message uses (a bag of words,
        weighted by how few meanings share a word), best first, zero scores left out."""
        keys = {bag_key(w) for w in reading.words if len(w) >= 3 or _is_symbol(w)}
        scores = []
        for meaning in meanings:
            weights = self.weights.get(meaning, {})
            score = sum(weights.get(k, 0.0) for k in keys)
            score += sum(m.end - m.start for m in self.find(reading, (meaning,)) if m.end - m.start > 1)
            if score > 0:
                scores.append((meaning, score))
        return sorted(scores, key=lambda item: -item[1])

    def with_core(self, other: Understanding) -> Understanding:
        """These examples plus `other`'s for the CORE meanings and its negations: reporters mix in
        English ("ok", "yes", "done") whatever language they chose. An English word this language uses
        otherwise is left out: a filler or question word always (Polish "no" is "well", not "no"), a
        common word unless it would only make a "no" or "unsure" (Spanish "ya" is "already", not "yeah";
        Portuguese "no" is "in the", but a lone "no" there is still no)."""
        def foreign(meaning: str, example: str) -> bool:
            local = self.fillers | self.questions | (self.common if meaning not in ("no", "unsure") else frozenset())
            return not any(word in local or word in self.spellings for word in words_of(example))
        examples = {m: tuple(e) + (tuple(x for x in other.examples.get(m, ()) if foreign(m, x)) if m in CORE else ())
                    for m, e in self.examples.items()}
        negations = self.negations | (other.negations - self.fillers)
        return Understanding.build(examples, negations, self.questions, self.fillers,
                                   self.common, [" ".join(c) for c in (*self.corrections, *other.corrections)],
                                   self.contrasts, self.spelled(), self.tail_phrases())

    def tail_phrases(self) -> list[str]:
        """The tails and frames as a locale file gives them."""
        return [*(" ".join(t) for t in self.tails), *(f"{' '.join(o)} ... {' '.join(c)}" for o, c in self.frames)]

    def spelled(self) -> dict[str, list[str]]:
        """The spellings as a locale file gives them: word -> its variants."""
        variants: dict[str, list[str]] = {}
        for variant, words in self.spellings.items():
            variants.setdefault(" ".join(words), []).append(variant)
        return variants


CORE = ("yes", "no", "unsure", "done", "skip", "wait")
