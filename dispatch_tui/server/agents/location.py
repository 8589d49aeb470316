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
from functools import lru_cache

from dispatch_tui.server.agents.base import Segment, is_dispatcher

_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|pl|circle|"
    r"terrace|parkway|pkwy|highway|hwy|ridge|bend|loop|trail|pike|square|hill|view|crescent|row|"
    r"alley|close|path|run|point|heights|grove|park|walk|plaza|green|mews|gardens|gate|crossing|"
    r"crest|hollow|commons|wharf|quay|rise|mount|fields|meadows?|chase|yard|approach|vale|croft|"
    r"bluffs?|landing|knoll|glen|dale|springs|pines|oaks|cove|shore|manor|estates?|gardens|parade|"
    r"esplanade|circuit|quadrant|arcade|causeway|drove|wynd)"
)
_ORDINAL = r"\d+(?:st|nd|rd|th)"
_DIRECTION = r"(?:north|south|east|west|n|s|e|w)"
_NAME = r"(?:\d+-)?[a-z][a-z'\-]+"
#: Street words that are also everyday words: only trusted after a house number.
_STRONG_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|parkway|pkwy|"
    r"highway|hwy|terrace|circle|pike)"
)
_UNIT_WORD = (
    r"(?:apartment|apt|unit|suite|room|flat|number|no|#|level|floor|building|block|house|lot|"
    r"field|dock|platform|gate|pitch|bay|pier|berth|stall|booth|table|aisle|ward|bed|cabin|site|plot|"
    r"pump|space|spot|door|entrance|exit)"
)
_UNIT_ID = r"(?:[a-z]?\d+[a-z]?|[a-z]\b|one|two|three|four|five|six|seven|eight|nine|ten)"
_UNIT = rf"(?:,?\s+{_UNIT_WORD}\.?\s*{_UNIT_ID})?"
#: House numbers as speech-to-text writes them: "338", or digit by digit "3 3 8".
_NUMBER_WORDS = (
    r"(?:\d{1,6}[a-z]?(?:\s\d{1,4})*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)"
)

_ADDRESS = re.compile(
    rf"\b{_NUMBER_WORDS}\s+(?:{_DIRECTION}\s+)?(?:(?:{_NAME}|{_ORDINAL})\s+){{0,2}}?"
    rf"(?:{_NAME}\s+)?{_SUFFIX}\b(?:\s+{_STRONG_SUFFIX}\b)?{_UNIT}"
)
_ROAD_NUMBER = (
    r"(?:interstate|highway|hwy|route|rte|county road|state road|state route|i|us|sr)[ -]?\d+"
)
_MARKER_FIRST = re.compile(
    rf"\b(?:mile marker|marker|mm|exit)\s*\d+\s+(?:on|of|off)\s+(?:the\s+)?{_ROAD_NUMBER}"
    rf"(?:\s+{_DIRECTION}(?:bound)?\b)?"
)
_HIGHWAY = re.compile(
    rf"\b(?:(?:the\s+)?[abm]\d{{1,4}}(?=[\s,.]|$)|(?:(?!(?:on|to|of|at|in|from|by|near|off|the)\b){_NAME}\s+)?(?:road|route|highway)\s+\d+\b|"
    rf"(?:interstate|highway|hwy|route|rte|county road|state road|state route|i|us|sr)[ -]?\d+)"
    rf"(?:\s+{_DIRECTION}(?:bound)?\b)?(?:,?\s+(?:just |right )?(?:at|near|by|past|before|after|around)\s+"
    rf"(?:mile marker|mile|marker|exit|mm)\s*\d+(?:\s\d+)*)?"
)
_INTERSECTION = re.compile(
    rf"\b(?:(?:the )?corner of )?(?:{_ORDINAL}|{_NAME})(?:\s+{_SUFFIX})? (?:and|&) "
    rf"(?:{_ORDINAL}|{_NAME})(?:\s+{_SUFFIX})?\b"
)
_PLACE_NOUN = (
    r"(?:park|beach|lake|river|bridge|mall|school|elementary|college|university|hall|library|gym|"
    r"church|station|store|market|hospital|hotel|motel|apartments|complex|building|plaza|center|"
    r"centre|parking lot|parking garage|parking|lot|playground|trailhead|field|stadium|restaurant|pizza|"
    r"diner|cafe|bar|pub|bank|pharmacy|depot|walmart|target|safeway|kroger|costco|mcdonald's|"
    r"bus stop|gas station|pier|marina|campground|trail|living|nursing home|office|warehouse|kitchen|"
    r"grill|depot|house|care home|care center|care centre|group home|overpass|underpass|quarry|"
    r"club|woodshop|shop|barn|mill|elevator|dock|wharf|jetty|tunnel|roundabout|junction|"
    r"interchange|ramp|cinemas?|footbridge|walkway|boardwalk|promenade|bowling alley|dock|"
    r"square|bench|fountain|statue|monument|memorial|on-ramp|off-ramp|slip road|exit ramp|"
    r"shelter|bus shelter|tram stop|taxi rank|lay-by|layby|turn-off|turnoff|paddock|showgrounds?|"
    r"fairgrounds?|racecourse|oval|homestead|sanctuary|chipper|leisure centre|garden centre|"
    r"towers?|residency|society|colony|nagar|layout|enclave|"
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
        "lives",
        "live",
        "call",
        "called",
        "go",
        "going",
        "went",
        "take",
        "took",
        "bring",
        "drive",
        "drove",
        "come",
        "came",
        "leave",
        "left",
        "stole",
        "stolen",
        "broke",
        "broken",
        "into",
        "overnight",
        "living",
        "calling",
        "this",
        "we've",
        "i've",
        "he'll",
    ]
)
_NOT_STOP = "(?!(?:" + "|".join(sorted(_STOP_WORDS - {"the"})) + r")\b)"
_NAMED_STREET = re.compile(
    rf"\b(?:(?:{_NOT_STOP}{_NAME}\s+){{0,2}}(?:{_ORDINAL}|{_NAME})\s+{_STRONG_SUFFIX}|broadway)\b{_UNIT}"
)
_PLACE = re.compile(
    rf"\b(?:the\s+)?(?:st\.?\s+|saint\s+)?(?:{_NOT_STOP}(?:{_NAME}|{_ORDINAL})\s+){{0,3}}{_PLACE_NOUN}"
    rf"(?:\s+{_PLACE_NOUN})*\b(?:\s+(?:room|pier|gate|dock|platform|terminal|building|lot|field|unit|bay)?\s*\d+[a-z]?)?"
)
_CONNECTORS = (
    r"(?:at|on|near|by|off|behind|outside|inside|in front of|across from|next to|of|to|from|in|"
    r"past)"
)
_LEFT_PLACE = re.compile(
    rf"(?:the\s+)?(?:(?:{_NAME}|{_ORDINAL})\s+){{0,3}}?{_PLACE_NOUN}\s+{_CONNECTORS}\s+$"
)
_LEFT_GENERIC = re.compile(rf"(?:the\s+)?(?:{_NAME}\s+){{1,3}}{_CONNECTORS}\s+(?:the\s+)?$")
#: Where the caller is relative to the place ("outside", "above"): part of where to go.
_LEFT_RELATION = re.compile(
    r"(?:right\s+)?(?:outside|above|below|behind|across from|in front of|opposite|next to|beside|"
    r"under|underneath|around the back of|at the back of|over|across|along|alongside)\s+$"
)
#: A unit word right before the house number ("flat 12 brambling court", "no. 23 ...").
_LEFT_UNIT_WORD = re.compile(rf"(?:{_UNIT_WORD}|house number|plot)\.?\s*$")
#: A name the caller puts before the address ("club orbit, 18 saxon street").
_LEFT_NAME = re.compile(rf"((?:the\s+)?(?:{_NAME}\s+){{0,3}}{_NAME}),\s+")
#: A place right before a relation ("the loading dock | behind ...").
_LEFT_BARE_PLACE = re.compile(rf"(?:the\s+)?(?:{_NOT_STOP}{_NAME}\s+){{0,3}}?{_PLACE_NOUN}\s+$")
_RELATION_START = re.compile(
    r"(?:behind|above|below|opposite|beside|outside|under|next to|over|across|along)\b"
)
#: A unit said before the address ("apartment 3b at 720 ...").
_LEFT_UNIT = re.compile(rf"{_UNIT_WORD}\.?\s*{_UNIT_ID}\s*(?:,|\s(?:at|in|of|on))\s+$")
_RIGHT_TAIL = re.compile(
    rf"^,?\s+(?:(?:near|by|off|behind|at|next to|across from|in front of|opposite|on|past|just past|beyond)\s+(?:the\s+)?"
    rf"(?:(?:{_NAME}|{_ORDINAL}|\d+)\s+){{0,3}}?(?:{_PLACE_NOUN}|{_SUFFIX}|pavilion|mill|buoy|"
    rf"float|sign|entrance|exit \d+|mile marker \d+|road \d+|route \d+)(?:\s+\d+)?"
    rf"|{_UNIT_WORD}\.?\s*{_UNIT_ID}\b|(?:{_PLACE_NOUN})\b"
    rf"|(?:the\s+)?(?:{_NAME}\s+){{0,2}}(?:out back|round the back|at the back|in the back|upstairs|"
    rf"downstairs)|the\s+(?:basement|attic|garage|back yard|backyard|garden|roof|loft|cellar|"
    rf"kitchen|lobby|foyer|car park|front|back)\b"
    rf"|(?:first|second|third|fourth|fifth|sixth|seventh|\d+(?:st|nd|rd|th)|top|ground|bottom) floor"
    rf"|(?:behind|near|by|next to|across from|opposite|off)\s+(?:the\s+)?(?:{_NOT_STOP}{_NAME}\s+){{0,2}}"
    rf"{_NOT_STOP}{_NAME}(?=\s*(?:[,.;!?]|$))"
    rf"|(?:on|in)\s+(?:{_ORDINAL}|{_NOT_STOP}{_NAME})(?=\s*(?:[,.;!?]|$))"
    rf"|(?:about |around |maybe )?(?:\w+|\d+) (?:k|km|kilometres|kilometers|miles?|mi|metres|meters|clicks) "
    rf"(?:past|before|after|from|north of|south of|east of|west of|up|down) (?:the\s+)?(?:{_NOT_STOP}{_NAME}\s+){{0,3}}"
    rf"{_NOT_STOP}{_NAME})"
)
_CORRECTION = re.compile(
    r"\b(?:sorry|no wait|wait no|i mean|actually|i meant|correction|not \w+,? (?:it's|its))\b"
    r"|,\s*no\s*,"
)


def _candidates(text: str) -> list[tuple[int, int, int]]:
    """``(start, end, strength)`` of every anchor in lowered ``text``."""
    found = []
    for strength, pattern in (
        (5, _MARKER_FIRST),
        (4, _ADDRESS),
        (4, _HIGHWAY),
        (3, _INTERSECTION),
        (2, _NAMED_STREET),
        (1, _PLACE),
    ):
        position = 0
        while (match := pattern.search(text, position)) is not None:
            ends = re.match(r"\s*(?:[,.;!?]|$)", text[match.end() :]) is not None
            if pattern is _INTERSECTION and not _is_intersection(
                match.group(0), text[: match.start()], ends
            ):
                # "at pike and 10th": try again from the next word.
                position = match.start() + len(match.group(0).split()[0]) + 1
                continue
            found.append((match.start(), match.end(), strength))
            position = match.end()
    return found


def _is_intersection(text: str, before: str = "", clause_ends: bool = False) -> bool:
    """Two street names around "and": one must look like a street, or the caller says "at" it."""
    left, _, right = re.split(r" (and|&) ", text, maxsplit=1)
    sides = [left.replace("the corner of ", "").replace("corner of ", ""), right]
    if any(side.split()[-1] in _STOP_WORDS or side.split()[0] in _STOP_WORDS for side in sides):
        return False
    if text.startswith(("the corner of", "corner of")):
        return True
    said_at = re.search(r"\b(?:at|corner of)\s+$", before)
    if said_at and all(len(side.split()) == 1 for side in sides) and clause_ends:
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


#: Who the caller is ("the school nurse at ...") is not where.
_ROLES = frozenset(
    {"nurse", "owner", "manager", "lead", "security", "guard", "teacher", "staff", "worker",
     "employee", "driver", "neighbor", "neighbour", "cashier", "clerk", "receptionist",
     "about", "supervisor", "caretaker", "janitor", "doctor", "coach", "mom", "dad", "son",
     "daughter", "friend", "wife", "husband", "someone", "somebody", "man", "woman", "guy", "lady"}
)  # fmt: skip


_SOMEBODYS = frozenset(
    {"somebody's", "someone's", "anybody's", "anyone's", "nobody's", "everyone's"}
)


def _describes_people(word: str) -> bool:
    """A pronoun, a state ("trapped", "bleeding") or an adverb cannot begin a place name."""
    if word in _STOP_WORDS - _KEPT or word in _NOT_A_PLACE:
        return True
    if word in _SOMEBODYS:
        return True
    return len(word) > 4 and word.endswith(("ed", "ing"))


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the place name before an anchor and a landmark after it."""
    before = text[:start]
    for pattern in (_LEFT_PLACE, _LEFT_GENERIC):
        left = pattern.search(before)
        while left is not None and (
            _describes_people(left.group(0).split()[0]) or _ROLES & set(left.group(0).split())
        ):
            left = pattern.search(before, left.start() + len(left.group(0).split()[0]) + 1)
        if left is not None:
            start = left.start()
            break
    for _ in range(3):
        tail = _RIGHT_TAIL.match(text[end:])
        if tail is None:
            break
        end += tail.end()
    for _ in range(3):
        moved = start
        for pattern in (
            _LEFT_UNIT,
            _LEFT_UNIT_WORD,
            _LEFT_RELATION,
            _LEFT_PLACE,
            _LEFT_BARE_PLACE,
            _LEFT_GENERIC,
        ):
            if pattern is _LEFT_UNIT_WORD and not text[start : start + 1].isdigit():
                continue
            if pattern is _LEFT_BARE_PLACE and not _RELATION_START.match(text, start):
                continue
            left = pattern.search(text[:start])
            if left is not None and not (
                _describes_people(left.group(0).split()[0]) or _ROLES & set(left.group(0).split())
            ):
                start = left.start()
        named = _name_before(text[:start])
        if named is not None:
            start = named
        if text[:start].endswith("the ") and text[start : start + 1].isdigit():
            start -= 4
        if start == moved:
            break
    return start, end


#: Stop words that still belong to a place when it starts with them.
_KEPT = frozenset({"the", "outside", "behind", "inside"})


def _name_before(before: str) -> int | None:
    """Where a business or home named before the address starts ("club orbit, 18 ...")."""
    for opening in re.finditer(r"(?:^|\b(?:this is|at|of|from)\s+)", before):
        found = _LEFT_NAME.fullmatch(before, opening.end())
        if found is None:
            continue
        words = found.group(1).split()
        if not any(w in _STOP_WORDS - _KEPT or w in _ROLES for w in words):
            return found.start(1)
    return None


def _trim(text: str, start: int, end: int) -> int:
    """Skip leading words that are not part of a place ("i'm at the ...")."""
    words = re.finditer(r"\S+", text[start:end])
    for word in words:
        rest = text[start + word.end() :]
        if word.group(0) == "i" and re.match(r"[ -]?\d", rest):
            return start + word.start()  # "i 94"
        if word.group(0) in _STOP_WORDS and word.group(0) not in _KEPT:
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


#: Words of an address given as a chain of comma-separated parts (common outside North
#: America): "flat 302, rajhans residency, mg road", "block c, unity estate, off ...".
_CHAIN_WORD = re.compile(
    rf"\b(?:\d+[a-z]?|{_UNIT_WORD}|{_SUFFIX}|{_PLACE_NOUN}|wing|cross|main|sector|phase)\b"
)
#: A chain needs one part that only an address has: a number, a unit, a street word.
_CHAIN_STRONG = re.compile(
    rf"\b(?:\d+[a-z]?|{_UNIT_WORD}\.?\s*{_UNIT_ID}|[a-z] (?:block|wing)|{_SUFFIX}|cross|sector|phase)\b"
)
#: Openers a caller puts before a place, and words that make a part a sentence, not a place.
_CHAIN_OPENERS = frozenset(
    {"it's", "it", "is", "we're", "we", "are", "i'm", "am", "this", "on", "at"}
)
_CHAIN_VERBS = frozenset(
    {"gave", "went", "came", "fell", "got", "says", "said", "saw", "heard", "lying", "sitting",
     "standing", "burning", "smoking", "collapsed", "hit", "crashed", "pouring"}
)  # fmt: skip
_CHAIN_ALLOWED = frozenset({"the", "of", "off", "near", "on", "by", "opposite", "behind", "at"})


def _address_chain(text: str) -> tuple[int, int] | None:
    """The longest run of short address-like parts separated by commas."""
    best: tuple[int, int] | None = None
    run: list[tuple[int, int, str]] = []
    position = 0
    for part in re.split(r"([,.;!?])", text):
        if len(part) == 1 and part in ",.;!?":
            if part != ",":
                run = []
            position += 1
            continue
        start = position + len(part) - len(part.lstrip())
        words = part.split()
        # "it's the back paddock at ...": what the caller says before the place.
        while words and words[0] in _CHAIN_OPENERS:
            start = text.index(words[0], start) + len(words[0])
            start += len(text[start:]) - len(text[start:].lstrip())
            words = words[1:]
        piece = " ".join(words)
        address_like = (
            0 < len(words) <= 6
            and not any(
                (w in _STOP_WORDS and w not in _CHAIN_ALLOWED) or w in _CHAIN_VERBS for w in words
            )
            and _CHAIN_WORD.search(piece) is not None
        )
        if address_like:
            run.append((start, position + len(part.rstrip()), piece))
            if len(run) >= 2 and any(_CHAIN_STRONG.search(p) for _, _, p in run):
                best = (run[0][0], run[-1][1])
        else:
            run = []
        position += len(part)
    return best


@lru_cache(maxsize=4096)
def _locations_in(text: str) -> list[tuple[int, int, int]]:
    spans = []
    chain = _address_chain(text)
    if chain is not None:
        spans.append((*chain, 3))
    for start, end, strength in _candidates(text):
        wide_start, wide_end = _widen(text, start, end)
        wide_start = _trim(text, wide_start, wide_end)
        words = [w for w in text[wide_start:wide_end].split() if w != "the"]
        if strength == 1 and (len(words) < 2 or words[0] in _SOMEBODYS):
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
