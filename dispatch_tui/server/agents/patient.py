"""What a call-taker knows about the patient, kept turn by turn.

Dispatch protocols decide on the patient's state, not on the words used for
it: someone who is not conscious and not breathing normally is in cardiac
arrest, whether the caller says "not breathing", "making a snoring sound", or
just "no" when asked "is he breathing?". :func:`read_patient` fills a
:class:`PatientState` from the caller's words (signs in :mod:`signs`, with
negation and history by scope from :mod:`negation`) and from each caller
turn read as the answer to the dispatcher's question before it. A later
statement replaces an earlier one ("actually he is breathing now").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Final

from dispatch_tui.protocol import PatientSummary
from dispatch_tui.server.agents.base import Segment, is_dispatcher
from dispatch_tui.server.agents.negation import Scope, has_trigger, scope_of, scopes
from dispatch_tui.server.agents.signs import (
    ANSWERS,
    QUESTIONS,
    SELF_REPORT,
    SIGNS,
    Answer,
    Sign,
    Topic,
)


class Breathing(Enum):
    """How the patient breathes; the values are the wire's ``patient.breathing``."""

    NORMAL = "normal"
    DIFFICULT = "difficult"
    ABNORMAL = "abnormal"
    NONE = "none"
    UNCERTAIN = "uncertain"


#: The reasoning above, for a model's prompt (the OpenAI agent), from the same tables.
STATE_RULES: Final = (
    "Reason from the patient's state, as dispatch protocols do. Keep what the call says of the "
    "patient: conscious (yes, no, unknown); breathing ("
    + ", ".join(state.value for state in Breathing)
    + ', unknown), where "abnormal" is gasping, snoring, gurgling or only now and then; and '
    + ", ".join(sign.value for sign in (Sign.NO_PULSE, Sign.CPR, Sign.DEAD))
    + ". Read each caller turn as the answer to the dispatcher's question before it: "
    '"Is he breathing?" "no" means not breathing. A later statement replaces an earlier one. '
    "Not conscious (or collapsed) and not breathing normally is cardiac_arrest whatever words "
    "the caller uses, and so is no pulse, CPR under way or obvious death; not conscious but "
    "breathing normally is unconscious; conscious and struggling to breathe is "
    "breathing_problem. Put what you know of the patient in patient."
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing known, the caller's words that said it, and when."""

    value: object
    evidence: str
    turn: int


@dataclass(slots=True)
class PatientState:
    conscious: Fact | None = None
    breathing: Fact | None = None
    #: Signs that mean cardiac arrest on their own (no pulse, CPR, obvious death).
    arrest_signs: list[Fact] = field(default_factory=list)
    collapsed: Fact | None = None
    cyanosis: Fact | None = None
    #: The caller speaks of their own body ("my throat", "i can't breathe"): awake.
    self_report: Fact | None = None
    #: Said to have passed out at some point, even if coming round since.
    passed_out: Fact | None = None
    #: The first arrest the call showed, and whether CPR began after it: an arrest
    #: with CPR under way stays an arrest when breathing comes back.
    first_arrest: list[str] = field(default_factory=list)
    resuscitated: bool = False

    @property
    def is_conscious(self) -> bool | None:
        if self.conscious is None:
            return None if self.self_report is None else True
        return bool(self.conscious.value)

    @property
    def breathing_is(self) -> Breathing | None:
        return None if self.breathing is None else Breathing(self.breathing.value)

    def summary(self) -> PatientSummary:
        """The state as the wire's ``patient`` field carries it."""
        conscious = self.is_conscious
        breathing = self.breathing_is
        return PatientSummary(
            conscious="unknown" if conscious is None else "yes" if conscious else "no",
            breathing="unknown" if breathing is None else breathing.value,
        )

    def arrest_evidence(self) -> list[str]:
        """The caller's words that show a cardiac arrest, or nothing.

        Not conscious (or collapsed) and not breathing normally is an arrest;
        so is no pulse, CPR under way, or obvious death (unless breathing or
        waking is said after it: "I think he's dead... no, he's breathing").
        """
        if self.resuscitated:
            return self.first_arrest
        signs = [fact for fact in self.arrest_signs if not self._revived_after(fact)]
        if signs:
            return [fact.evidence for fact in signs]
        breathing = self.breathing_is
        conscious = self.is_conscious
        down = conscious is False or (conscious is None and self.collapsed is not None)
        if breathing is Breathing.NONE and not self._awake_after(self.breathing):
            return self._evidence(self.breathing, self.conscious, self.collapsed)
        if breathing is Breathing.ABNORMAL and conscious is not True:
            return self._evidence(self.breathing, self.conscious, self.collapsed)
        if down and breathing in (Breathing.DIFFICULT, Breathing.UNCERTAIN):
            return self._evidence(self.breathing, self.conscious, self.collapsed)
        if down and breathing is None and self.cyanosis is not None:
            return self._evidence(self.cyanosis, self.conscious, self.collapsed)
        return []

    def _awake_after(self, fact: Fact | None) -> bool:
        """Conscious, said after ``fact`` (or at the same time)."""
        if fact is None or self.is_conscious is not True:
            return False
        # Only what is said of the patient: a caller's own "I can't breathe" is panic here.
        return self.conscious is not None and self.conscious.turn > fact.turn

    def _revived_after(self, fact: Fact) -> bool:
        """Obvious death taken back by normal breathing or waking said later."""
        if fact.value is not Sign.DEAD:
            return False
        later_breathing = (
            self.breathing is not None
            and self.breathing_is is Breathing.NORMAL
            and self.breathing.turn > fact.turn
        )
        return later_breathing or (self._awake_after(fact) and self.conscious is not None)

    def unconscious_evidence(self) -> list[str]:
        """Not conscious, or passed out and coming round, but breathing: no arrest."""
        if self.arrest_evidence():
            return []
        if self.is_conscious is False:
            return self._evidence(self.conscious, self.breathing)
        if self.passed_out is not None:
            return self._evidence(self.passed_out, self.breathing)
        return []

    def breathing_problem_evidence(self) -> list[str]:
        """Struggling to breathe (or turning blue) while conscious."""
        if self.is_conscious is False or self.arrest_evidence():
            return []
        if self.breathing_is is Breathing.DIFFICULT or (
            self.breathing_is is Breathing.ABNORMAL and self.is_conscious is True
        ):
            # Gasping or crackly breathing in someone awake is a breathing problem.
            return self._evidence(self.breathing)
        if (
            self.cyanosis is not None
            and self.is_conscious is True
            and self.breathing_is is not Breathing.NORMAL
        ):
            return self._evidence(self.cyanosis)
        return []

    @staticmethod
    def _evidence(*facts: Fact | None) -> list[str]:
        return [fact.evidence for fact in facts if fact is not None]


_SIGN_PATTERNS = {
    sign: tuple(re.compile(rf"\b(?:{p})\b") for p in patterns) for sign, patterns in SIGNS.items()
}
_QUESTION_PATTERNS = {topic: re.compile(rf"\b(?:{p})\b") for topic, p in QUESTIONS.items()}
_ANSWER_PATTERNS = {answer: re.compile(rf"^(?:{p})\b") for answer, p in ANSWERS.items()}
#: Said before an answer while the caller looks or thinks.
_FILLER = re.compile(
    r"^(?:\W|\b(?:um+|uh+|er+|erm|hm+|oh|god|oh god|okay|ok|well|hang on|hold on|wait|"
    r"let me (?:see|check|look)|one (?:sec|second)|i+)\b)+"
)
_SENTENCE = re.compile(r"[^.!?,;]+")
#: A question asked the negative way round ("Is anyone not breathing or not awake?").
_NEGATED_QUESTION = re.compile(
    r"\b(?:not|isn't|stopped) (?:breathing|awake|conscious|responding|moving)\b"
    r"|\b(?:unconscious|unresponsive)\b"
)


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    # An ellipsis is a pause in speech, not the end of what is said.
    text = re.sub(r"\.{2,}|\u2026", " ", text)
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=4096)
def sign_matches(text: str) -> list[tuple[Sign, re.Match[str], Scope]]:
    """Each sign in one lower-cased utterance, first sign first for any span of words.

    Cached (the call is read again at every utterance); callers must not change the list.
    """
    spans = scopes(text)
    taken: list[tuple[int, int]] = []
    found: list[tuple[Sign, re.Match[str], Scope]] = []
    for sign, patterns in _SIGN_PATTERNS.items():
        for pattern in patterns:
            for match in pattern.finditer(text):
                if any(match.start() < end and start < match.end() for start, end in taken):
                    continue
                taken.append((match.start(), match.end()))
                scope = scope_of(spans, match.start(), match.end(), has_trigger(match.group(0)))
                found.append((sign, match, scope))
    found.sort(key=lambda item: item[1].start())
    return found


def question_topics(text: str) -> set[Topic]:
    """What the dispatcher asked: the sentences ending in "?" (all of it, unpunctuated)."""
    lowered = normalise(text)
    asked = re.findall(r"[^.!?]*\?", lowered)
    if asked:
        # A caller answers the last question put to them.
        lowered = asked[-1]
    topics = {topic for topic, pattern in _QUESTION_PATTERNS.items() if pattern.search(lowered)}
    if _NEGATED_QUESTION.search(lowered):
        topics.add(Topic.NEGATED)
    if Topic.BREATHING_NORMALLY in topics or Topic.DIFFICULTY in topics:
        topics.discard(Topic.BREATHING)
    if Topic.DIFFICULTY in topics:
        topics.discard(Topic.BREATHING_NORMALLY)
    return topics


def answer_of(text: str) -> Answer | None:
    """The yes, no or unsure that a caller's turn opens with, after any filler.

    "hang on... I don't think so. no." is a no: failing an answer at the start,
    a sentence that is nothing but an answer counts.
    """
    lowered = normalise(text)
    sentences = [_FILLER.sub("", m.group(0)).strip() for m in _SENTENCE.finditer(lowered)]
    for index, sentence in enumerate(sentences):
        for answer, pattern in _ANSWER_PATTERNS.items():
            found = pattern.match(sentence)
            if found and (index == 0 or found.end() >= len(sentence.rstrip(" ,"))):
                return answer
    return None


def read_patient(segments: Sequence[Segment]) -> PatientState:
    """The patient's state after the whole call so far."""
    state = PatientState()
    question: set[Topic] = set()
    for turn, segment in enumerate(segments):
        if is_dispatcher(segment):
            question = question_topics(segment.text)
            if state.first_arrest and _CPR_TALK.search(normalise(segment.text)):
                state.resuscitated = True
            continue
        text = normalise(segment.text)
        if question:
            _apply_answer(state, question, answer_of(text), segment.text.strip(), turn)
            question = set()
        for sign, match, scope in sign_matches(text):
            if scope in (Scope.HISTORY, Scope.HYPOTHETICAL):
                continue
            negated = scope is Scope.NEGATED
            if sign in _POSITIVE and has_trigger(match.group(0)):
                # "his chest isn't moving": the negation is inside the words.
                negated = not negated
            _apply_sign(state, sign, negated, _quote(segment.text, text, match), turn)
        if _SELF.search(text):
            state.self_report = Fact(True, segment.text.strip(), turn)
        if not state.first_arrest:
            state.first_arrest = state.arrest_evidence()
        elif _CPR_TALK.search(text):
            state.resuscitated = True
    return state


#: Signs that say something is there; said with a negation inside, it is not.
_POSITIVE = frozenset({Sign.BREATHING, Sign.RESPONSIVE})
#: CPR talked about by either side, once an arrest was seen.
_CPR_TALK = re.compile(
    r"\b(?:cpr|compressions|push (?:hard|down|fast)|pump(?:ing)? (?:on )?(?:his|her|the) chest)\b"
)
_SELF = re.compile(rf"\b(?:{SELF_REPORT})\b")


def in_original(original: str, piece: str) -> str:
    """The caller's own words (case and punctuation as said) behind a normalised piece."""
    words = re.findall(r"[\w']+", piece)
    if not words:
        return piece.strip()
    pattern = r"\W+".join(re.escape(word) for word in words)
    straight = original.replace("\u2019", "'").replace("\u2018", "'")
    found = re.search(pattern, straight, re.IGNORECASE)
    return original[found.start() : found.end()] if found else piece.strip()


def _quote(original: str, text: str, match: re.Match[str]) -> str:
    """The caller's own words around a match: the sentence it stands in."""
    start = max(text.rfind(mark, 0, match.start()) for mark in ".!?;")
    ends = [i for i in (text.find(mark, match.end()) for mark in ".!?;") if i != -1]
    return in_original(original, text[start + 1 : min(ends, default=len(text))])


def _apply_answer(
    state: PatientState, topics: set[Topic], answer: Answer | None, words: str, turn: int
) -> None:
    if answer is None:
        return
    if Topic.NEGATED in topics:
        # "Is anyone not breathing?" "no": the answer says the opposite.
        answer = {Answer.YES: Answer.NO, Answer.NO: Answer.YES}.get(answer, answer)
    both = Topic.CONSCIOUS in topics and bool(topics & {Topic.BREATHING, Topic.BREATHING_NORMALLY})
    for topic in topics:
        if topic is Topic.DIFFICULTY:
            if answer in (Answer.YES, Answer.PARTLY):
                state.breathing = Fact(Breathing.DIFFICULT.value, words, turn)
            elif answer is Answer.NO:
                state.breathing = Fact(Breathing.NORMAL.value, words, turn)
        elif topic is Topic.PULSE and answer is Answer.NO:
            state.arrest_signs.append(Fact(Sign.NO_PULSE, words, turn))
        elif topic is Topic.CONSCIOUS:
            if answer is Answer.YES:
                state.conscious = Fact(True, words, turn)
            elif answer in (Answer.NO, Answer.PARTLY) or (both and answer is Answer.UNSURE):
                state.conscious = Fact(False, words, turn)
        elif topic in (Topic.BREATHING, Topic.BREATHING_NORMALLY):
            breathing = _ANSWERED_BREATHING[(topic is Topic.BREATHING_NORMALLY or both, answer)]
            state.breathing = Fact(breathing.value, words, turn)


#: (asked about *normal* breathing, answer) -> what it says about breathing.
_ANSWERED_BREATHING = {
    (False, Answer.YES): Breathing.NORMAL,
    (False, Answer.NO): Breathing.NONE,
    (False, Answer.PARTLY): Breathing.ABNORMAL,
    (False, Answer.UNSURE): Breathing.UNCERTAIN,
    (True, Answer.YES): Breathing.NORMAL,
    (True, Answer.NO): Breathing.ABNORMAL,
    (True, Answer.PARTLY): Breathing.ABNORMAL,
    (True, Answer.UNSURE): Breathing.UNCERTAIN,
}


def _apply_sign(state: PatientState, sign: Sign, negated: bool, words: str, turn: int) -> None:
    if sign in (Sign.NO_PULSE, Sign.CPR, Sign.DEAD):
        if not negated:
            state.arrest_signs.append(Fact(sign, words, turn))
    elif sign is Sign.NOT_BREATHING:
        breathing = Breathing.NORMAL if negated else Breathing.NONE
        state.breathing = Fact(breathing.value, words, turn)
    elif sign in (Sign.AGONAL, Sign.DIFFICULT):
        if not negated:
            value = Breathing.ABNORMAL if sign is Sign.AGONAL else Breathing.DIFFICULT
            state.breathing = Fact(value.value, words, turn)
    elif sign is Sign.BREATHING_NORMALLY:
        breathing = Breathing.ABNORMAL if negated else Breathing.NORMAL
        state.breathing = Fact(breathing.value, words, turn)
    elif sign is Sign.BREATHING:
        breathing = Breathing.NONE if negated else Breathing.NORMAL
        if negated or state.breathing is None or state.breathing_is is Breathing.NONE:
            state.breathing = Fact(breathing.value, words, turn)
    elif sign is Sign.CYANOSIS:
        if not negated:
            state.cyanosis = Fact(True, words, turn)
    elif sign is Sign.UNRESPONSIVE:
        if not negated:
            state.conscious = Fact(False, words, turn)
            state.passed_out = state.passed_out or state.conscious
    elif sign is Sign.COLLAPSED:
        if not negated:
            state.collapsed = Fact(True, words, turn)
    elif sign is Sign.RESPONSIVE:
        state.conscious = Fact(not negated, words, turn)
