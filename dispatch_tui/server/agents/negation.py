"""Negation, history and uncertainty by scope, after NegEx (Chapman et al., 2001).

A trigger word opens a scope that runs a few words forward (``not``, ``no``,
``never``) or backward (``... gone``, ``..., no``) and ends early at a
termination word (``but``, ``though``, ``and then``). A finding inside a
negation scope is denied; inside a history or hypothetical scope it is not
evidence at all. Pseudo-triggers (``no doubt``, ``not only``) open nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

#: Words a scope runs over at most, as NegEx's window.
WINDOW = 5

_PSEUDO = re.compile(
    r"\b(?:no doubt|not only|not sure if (?:he|she|they)(?:'s| is| are) not|no (?:idea|clue)|"
    r"not just|no matter|not certain|doesn't matter)\b"
)
#: A turn that opens with "no" answers the question before it; it negates nothing after.
_ANSWER_NO = re.compile(
    r"^\W*(?:(?:no+|nope|nah)\b[\s,.!]*)+(?=(?:it|it's|he|he's|she|she's|they|they're|i|i'm|we|"
    r"we're|just|everybody|everyone|there|there's|that|that's|this|the|my|his|her|our|sorry|wait|"
    r"actually|well|um|uh|only|but|you|ma'am|sir|thank)\b)"
)
_PRE_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nothing|without|isn't|wasn't|aren't|weren't|doesn't|don't|didn't|"
    r"hasn't|haven't|hadn't|won't|can't|cannot|couldn't|wouldn't|ain't|nobody|no one|neither|nor|"
    r"denies|stopped|no longer|no sign of|no signs of|free of|absent)\b"
)
_POST_NEGATION = re.compile(r"\b(?:gone|stopped|anymore|any more|is out|went away)\b")
_HISTORY = re.compile(
    r"\b(?:last (?:year|month|week|summer|winter|spring|fall|time|night's)|years? ago|months? ago|"
    r"weeks? ago|history of|used to|in the past|back in \d+|previous(?:ly)?|before (?:that|this)|"
    r"had (?:a|one|an) (?:\w+ ){0,2}(?:before|years ago|last)|when (?:he|she|i) was (?:a )?"
    r"(?:kid|younger|little|baby)|has had|he's had|she's had|once had)\b"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:in case|what if|if (?:he|she|it|they) (?:gets?|starts?|stops?)|afraid (?:he|she|it) "
    r"(?:might|will|could)|might have|i thought|thought (?:it|they|he|she) (?:was|were)|at first|"
    r"sounded like|looked like|just kidding|worried (?:he|she|it)(?:'ll| will| might)|could be)\b"
)
_TERMINATION = re.compile(
    r"\b(?:but|however|though|although|except|yet|and then|then|now|which|who|because|since|so|"
    r"still|anyway|actually|and)\b|[,;:!?]|(?<!\.)\.(?!\.)|"
    # A new clause with its own subject: run-on speech rarely marks its commas.
    r"\b(?:he|she|they|i|it|we|you)(?:'s|'re|'m|'ve| is| are| was| were| has| had| can| will)\b"
)


class Scope(Enum):
    """What a finding's surroundings say about it."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    HISTORY = "history"
    HYPOTHETICAL = "hypothetical"


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    kind: Scope
    #: Where the word that opened the scope stands.
    trigger: int


def _forward(text: str, trigger: re.Match[str], kind: Scope) -> _Span:
    """From the trigger to :data:`WINDOW` words on, or to the first termination."""
    rest = text[trigger.end() :]
    stop = _TERMINATION.search(rest)
    limit = len(rest) if stop is None else stop.start()
    words = list(re.finditer(r"\S+", rest[:limit]))
    end = trigger.end() + (words[WINDOW - 1].end() if len(words) >= WINDOW else limit)
    return _Span(trigger.start(), end, kind, trigger.start())


def _backward(text: str, trigger: re.Match[str]) -> _Span:
    """From :data:`WINDOW` words before the trigger (or the last termination) to it."""
    before = text[: trigger.start()]
    stops = list(_TERMINATION.finditer(before))
    floor = stops[-1].end() if stops else 0
    words = list(re.finditer(r"\S+", before[floor:]))
    start = floor + (words[-WINDOW].start() if len(words) >= WINDOW else 0)
    return _Span(start, trigger.end(), Scope.NEGATED, trigger.start())


def scopes(text: str) -> list[_Span]:
    """Every negation, history and hypothetical scope of one lower-cased utterance."""
    masked = _PSEUDO.sub(lambda m: "_" * len(m.group(0)), text)
    masked = _ANSWER_NO.sub(lambda m: "_" * len(m.group(0)), masked)
    spans: list[_Span] = []
    for pattern, kind in (
        (_PRE_NEGATION, Scope.NEGATED),
        (_HISTORY, Scope.HISTORY),
        (_HYPOTHETICAL, Scope.HYPOTHETICAL),
    ):
        spans.extend(_forward(masked, m, kind) for m in pattern.finditer(masked))
    spans.extend(_backward(masked, m) for m in _POST_NEGATION.finditer(masked))
    for kind in (Scope.HISTORY, Scope.HYPOTHETICAL):
        # History and hypotheticals colour their whole clause, before the trigger too.
        for m in (_HISTORY if kind is Scope.HISTORY else _HYPOTHETICAL).finditer(masked):
            spans.append(_backward_clause(masked, m, kind))
    return spans


def _backward_clause(text: str, trigger: re.Match[str], kind: Scope) -> _Span:
    before = text[: trigger.start()]
    stops = list(_TERMINATION.finditer(before))
    return _Span(stops[-1].end() if stops else 0, trigger.end(), kind, trigger.start())


def has_trigger(text: str) -> bool:
    """Whether a finding carries its own negation ("not breathing", "won't wake up")."""
    return bool(_PRE_NEGATION.search(text))


def scope_of(spans: list[_Span], start: int, end: int, own_negation: bool = False) -> Scope:
    """The scope a finding at ``[start, end)`` falls in; history wins over negation.

    A trigger inside the finding itself (the ``not`` of "not breathing") is
    part of what the finding says, not a scope around it; and a finding that
    carries its own negation is not negated again by a stutter before it
    ("he's not, he's not breathing").
    """
    found = Scope.AFFIRMED
    for span in spans:
        if span.kind is Scope.NEGATED and start <= span.trigger < end:
            continue
        if span.start < end and start < span.end:
            if span.kind in (Scope.HISTORY, Scope.HYPOTHETICAL):
                return span.kind
            if not own_negation:
                found = Scope.NEGATED
    return found
