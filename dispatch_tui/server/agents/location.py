"""Where the emergency is, as the caller said it.

An anchor (a street address, an intersection, a highway with a marker or
exit, a named street or place) is found first, then widened to the words that
belong to it ("the bus stop at ...", "... apartment 5c", "... near the big
pavilion"). A caller who corrects themselves ("sorry, no", "I mean") is taken
at the corrected place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dispatch_tui.server.agents.base import Segment, is_dispatcher

_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|pl|circle|"
    r"terrace|parkway|pkwy|highway|hwy|ridge|bend|loop|trail|pike|square|hill|view|crescent|row|"
    r"alley|close|path|run|point|heights|grove|park|walk|plaza|green)"
)
_ORDINAL = r"\d+(?:st|nd|rd|th)"
_DIRECTION = r"(?:north|south|east|west|n|s|e|w)"
_NAME = r"(?:\d+-)?[a-z][a-z'\-]+"
#: Street words that are also everyday words: only trusted after a house number.
_STRONG_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|parkway|pkwy|"
    r"highway|hwy|terrace|circle|pike)"
)
_UNIT = r"(?:\s+(?:apartment|apt|unit|suite|room|flat|number|no|#)\.?\s*[a-z]?\d+[a-z]?)?"
_NUMBER_WORDS = r"(?:\d{1,6}[a-z]?)"

_ADDRESS = re.compile(
    rf"\b{_NUMBER_WORDS}\s+(?:{_DIRECTION}\s+)?(?:(?:{_NAME}|{_ORDINAL})\s+){{0,2}}?"
    rf"(?:{_NAME}\s+)?{_SUFFIX}\b(?:\s+{_STRONG_SUFFIX}\b)?{_UNIT}"
)
_HIGHWAY = re.compile(
    rf"\b(?:interstate|highway|hwy|route|rte|county road|state road|state route|i|us|sr)[ -]?\d+"
    rf"(?:\s+{_DIRECTION}(?:bound)?\b)?(?:\s+(?:at|near|by|past|before|after|around)\s+"
    rf"(?:mile marker|mile|marker|exit|mm)\s*\d+)?"
)
_INTERSECTION = re.compile(
    rf"\b(?:(?:the )?corner of )?(?:{_ORDINAL}|{_NAME})(?:\s+{_SUFFIX})? (?:and|&) "
    rf"(?:{_ORDINAL}|{_NAME})(?:\s+{_SUFFIX})?\b"
)
_NAMED_STREET = re.compile(rf"\b(?:(?:{_ORDINAL}|{_NAME})\s+{_STRONG_SUFFIX}|broadway)\b{_UNIT}")
_PLACE_NOUN = (
    r"(?:park|beach|lake|river|bridge|mall|school|elementary|college|university|hall|library|gym|"
    r"church|station|store|market|hospital|hotel|motel|apartments|complex|building|plaza|center|"
    r"centre|parking lot|parking garage|parking|lot|playground|trailhead|field|stadium|restaurant|pizza|"
    r"diner|cafe|bar|pub|bank|pharmacy|depot|walmart|target|safeway|kroger|costco|mcdonald's|"
    r"bus stop|gas station|pier|marina|campground|trail|living|nursing home|office|warehouse|kitchen|"
    r"grill|depot|"
    r"factory|farm|pool|arena|theater|theatre|museum|airport|terminal)"
)

_STOP_WORDS = frozenset(
    [
        "i",
        "i'm",
        "we",
        "we're",
        "he",
        "he's",
        "she",
        "she's",
        "they",
        "they're",
        "it",
        "it's",
        "is",
        "are",
        "was",
        "were",
        "my",
        "our",
        "his",
        "her",
        "their",
        "there",
        "there's",
        "this",
        "that",
        "just",
        "please",
        "help",
        "yes",
        "no",
        "okay",
        "ok",
        "so",
        "um",
        "uh",
        "like",
        "and",
        "a",
        "an",
        "to",
        "in",
        "of",
        "with",
        "from",
        "for",
        "can",
        "can't",
        "could",
        "get",
        "got",
        "have",
        "has",
        "had",
        "been",
        "be",
        "am",
        "you",
        "your",
        "me",
        "us",
        "at",
        "on",
        "near",
        "by",
        "off",
        "behind",
        "outside",
        "inside",
        "front",
    ]
)
_NOT_STOP = "(?!(?:" + "|".join(sorted(_STOP_WORDS - {"the"})) + r")\b)"
_PLACE = re.compile(
    rf"\b(?:the\s+)?(?:{_NOT_STOP}(?:{_NAME}|{_ORDINAL})\s+){{0,3}}{_PLACE_NOUN}"
    rf"(?:\s+{_PLACE_NOUN})*\b(?:\s+room\s+\d+[a-z]?)?"
)
_CONNECTORS = r"(?:at|on|near|by|off|behind|outside|inside|in front of|across from|next to|of)"
_LEFT_PLACE = re.compile(
    rf"(?:the\s+)?(?:(?:{_NAME}|{_ORDINAL})\s+){{0,3}}?{_PLACE_NOUN}\s+{_CONNECTORS}\s+$"
)
_LEFT_GENERIC = re.compile(rf"(?:the\s+)?(?:{_NAME}\s+){{1,2}}{_CONNECTORS}\s+(?:the\s+)?$")
_RIGHT_TAIL = re.compile(
    rf"^\s+(?:(?:near|by|off|behind|at|next to|across from|in front of)\s+(?:the\s+)?"
    rf"(?:(?:{_NAME}|{_ORDINAL}|\d+)\s+){{0,3}}?(?:{_PLACE_NOUN}|{_SUFFIX}|pavilion|mill|buoy|"
    rf"float|sign|entrance|exit \d+|mile marker \d+|road \d+|route \d+)(?:\s+\d+)?)"
)
_CORRECTION = re.compile(
    r"\b(?:sorry|no wait|wait no|i mean|actually|i meant|correction|not \w+,? (?:it's|its))\b"
)


def _candidates(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, strength)`` of every anchor in lowered ``text``."""
    found = []
    for strength, pattern in (
        (4, _ADDRESS),
        (4, _HIGHWAY),
        (3, _INTERSECTION),
        (2, _NAMED_STREET),
        (1, _PLACE),
    ):
        for match in pattern.finditer(text):
            if pattern is _INTERSECTION and not _is_intersection(match.group(0)):
                continue
            found.append((match.start(), match.end(), strength))
    return found


def _is_intersection(text: str) -> bool:
    """Two street names around "and": at least one must look like a street."""
    left, _, right = re.split(r" (and|&) ", text, maxsplit=1)
    sides = [left.replace("the corner of ", "").replace("corner of ", ""), right]
    if any(side.split()[-1] in _STOP_WORDS or side.split()[0] in _STOP_WORDS for side in sides):
        return False
    if text.startswith(("the corner of", "corner of")):
        return True
    street_like = [
        bool(re.fullmatch(rf"{_ORDINAL}(?:\s+{_SUFFIX})?", side))
        or bool(re.search(rf"\s{_SUFFIX}$", side))
        for side in sides
    ]
    return any(street_like)


#: Words that start what happens to someone ("trapped upstairs at ..."), not a place name.
_NOT_A_PLACE = frozenset(
    {"upstairs", "downstairs", "here", "now", "still", "out", "home", "inside"}
)


def _describes_people(word: str) -> bool:
    """A pronoun, a state ("trapped", "bleeding") or an adverb cannot begin a place name."""
    if word in _STOP_WORDS - {"the"} or word in _NOT_A_PLACE:
        return True
    return len(word) > 4 and word.endswith(("ed", "ing"))


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the place name before an anchor and a landmark after it."""
    before = text[:start]
    for pattern in (_LEFT_PLACE, _LEFT_GENERIC):
        left = pattern.search(before)
        while left is not None and _describes_people(left.group(0).split()[0]):
            left = pattern.search(before, left.start() + len(left.group(0).split()[0]) + 1)
        if left is not None:
            start = left.start()
            break
    tail = _RIGHT_TAIL.match(text[end:])
    if tail is not None:
        end += tail.end()
    return start, end


def _trim(text: str, start: int, end: int) -> int:
    """Skip leading words that are not part of a place ("i'm at the ...")."""
    words = re.finditer(r"\S+", text[start:end])
    for word in words:
        if word.group(0) in _STOP_WORDS and word.group(0) != "the":
            continue
        return start + word.start()
    return start


def _merge(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Overlapping anchors become one span with the strongest strength."""
    merged: list[tuple[int, int, int]] = []
    for start, end, strength in sorted(spans):
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), max(last[2], strength))
        else:
            merged.append((start, end, strength))
    return merged


def _locations_in(text: str) -> list[tuple[int, int, int]]:
    spans = []
    for start, end, strength in _candidates(text):
        wide_start, wide_end = _widen(text, start, end)
        wide_start = _trim(text, wide_start, wide_end)
        words = [w for w in text[wide_start:wide_end].split() if w != "the"]
        if strength == 1 and len(words) < 2:
            continue
        spans.append((wide_start, wide_end, strength))
    return _merge(spans)


def extract_location(segments: Sequence[Segment]) -> str | None:
    """The place of the emergency as said, or None when nobody said one."""
    best: tuple[int, str] | None = None
    for from_caller in (True, False):
        for segment in segments:
            if is_dispatcher(segment) == from_caller:
                continue
            text = segment.text.lower().replace("\u2019", "'")
            spans = _locations_in(text)
            if not spans:
                continue
            chosen = max(spans, key=lambda s: s[2])
            correction = _CORRECTION.search(text)
            if correction is not None:
                later = [s for s in spans if s[0] > correction.end()]
                if later:
                    chosen = max(later, key=lambda s: s[2])
            phrase = text[chosen[0] : chosen[1]].strip(" ,.")
            if best is None or chosen[2] > best[0]:
                best = (chosen[2], phrase)
            if chosen[2] >= 3:
                return phrase
        if best is not None:
            return best[1]
    return None
