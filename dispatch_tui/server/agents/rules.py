"""The offline rules agent: reads a call and suggests type, priority and advice.

It reads what the caller says (a dispatcher's questions are not evidence),
ignores what is negated or in the past, lets the most urgent type win, and
raises the priority for a child, several victims or someone trapped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents.base import Agent, Segment, is_dispatcher
from dispatch_tui.server.agents.incidents import BY_NAME, INCIDENT_TYPES, UNKNOWN, IncidentType
from dispatch_tui.server.agents.location import extract_location

_CLAUSE_BREAK = re.compile(r"[.!?;]+|,\s*(?:but|and then|then)\b|\bbut\b")
_NEGATORS = re.compile(
    r"\b(?:not|never|no one|nobody|nothing|without|isn't|wasn't|aren't|weren't|doesn't|"
    r"don't|didn't|hasn't|haven't|won't|can't see any|no sign of|neither|nor)\b"
)
_NO_BEFORE = re.compile(r"\bno\s+(?:\w+\s+)?$")
_HISTORY = re.compile(
    r"\b(?:last (?:year|month|week|summer|winter|spring|fall|time)|years? ago|months ago|weeks ago|"
    r"history of|used to|in the past|had (?:a|one) (?:\w+ )?(?:before|years)|previous(?:ly)?|"
    r"back in \d+|when (?:he|she|i) was (?:a )?(?:kid|younger|little))\b"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:in case|what if|afraid (?:he|she|it) (?:might|will)|might have|i thought|thought (?:it|they)"
    r" (?:was|were)|at first|sounded like|looked like|just kidding)\b"
)
#: What a caller says before taking it back ("..., i mean ...") does not count.
_RETRACTION = re.compile(r"\b(?:i mean|i meant)\b")
#: "anyone else", "the other one": a negation about someone else vetoes nothing.
_OTHERS = re.compile(r"\b(?:else|other|others|anybody|anyone)\b")

_CHILD = re.compile(
    r"\b(?:baby|babies|infant|toddler|newborn|little (?:boy|girl|one|kid)|(?:my|our|a|the) "
    r"(?:child|kid|kids|children)|(?:[1-9]|1[0-2]|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve)[- ](?:years?|yrs?|months?|weeks?)[- ]old|(?:he|she)(?:'s| is) "
    r"(?:only )?(?:[1-9]|1[0-2]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b"
    r"(?! (?:minutes|hours|o'clock|floors?|blocks?|cars?))|kindergarten|elementary)\b"
)
_SEVERAL = re.compile(
    r"\b(?:(?:two|three|four|five|six|several|multiple|many|a few|a bunch of|lots of|both)"
    r" (?:of (?:them|the \w+) )?(?:people (?:are |were )?(?:hurt|injured|bleeding|shot|stabbed|trapped|"
    r"unconscious|down)|persons|victims|patients|injured|kids (?:are |were )?(?:hurt|injured)|"
    r"passengers|of them (?:are |were )?(?:hurt|injured|bleeding|shot|unconscious|stuck|trapped)|"
    r"are (?:hurt|injured|bleeding|unconscious|shot))|(?:everyone|everybody|"
    r"they're all|they are all|both of them) (?:is |are )?(?:hurt|injured|bleeding|unconscious|shot)"
    r"|more than one (?:person|victim)|(?:two|three|four|five|six|seven|eight|nine|ten|several|"
    r"multiple|a bunch of|a couple of|\d+) (?:people|persons|passengers|victims|patients|kids|"
    r"children)(?! (?:fighting|arguing|yelling|standing|watching|talking|partying|screaming at|in the"
    r" yard|outside|at the party)))\b"
)
_TRAPPED = re.compile(
    r"\b(?:trapped|pinned|stuck (?:inside|in (?:the|his|her|their) (?:car|vehicle|truck|room|house|"
    r"building))|can't get (?:him |her |them )?out|(?:is |are )?still (?:inside|in there))\b"
)


@dataclass(frozen=True, slots=True)
class Finding:
    incident: IncidentType
    evidence: str
    segment_index: int


def _normalise(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _clauses(text: str) -> list[tuple[int, str]]:
    """``(offset, clause)`` pieces, so negation and history stay local."""
    pieces: list[tuple[int, str]] = []
    start = 0
    for brk in _CLAUSE_BREAK.finditer(text):
        pieces.append((start, text[start : brk.start()]))
        start = brk.end()
    pieces.append((start, text[start:]))
    return pieces


def _negated(clause: str, match: re.Match[str]) -> bool:
    """A negator shortly before the match (``"no"`` only right before it)."""
    if _NEGATORS.search(match.group(0)) or match.group(0).startswith("no "):
        return False
    before = clause[: match.start()]
    window = " ".join(before.split()[-3:])
    return bool(_NEGATORS.search(window)) or bool(_NO_BEFORE.search(before[-20:]))


def _caller_clauses(segments: Sequence[Segment]) -> list[tuple[int, str, str]]:
    """``(segment index, original text, lowered clause)`` of everything the caller said."""
    found = []
    for index, segment in enumerate(segments):
        if is_dispatcher(segment):
            continue
        lowered = _normalise(segment.text)
        for offset, clause in _clauses(lowered):
            retracted = list(_RETRACTION.finditer(clause))
            if retracted:
                offset += retracted[-1].end()
                clause = clause[retracted[-1].end() :]
            found.append((index, segment.text[offset : offset + len(clause)], clause))
    return found


def find_incidents(segments: Sequence[Segment]) -> list[Finding]:
    """Every type the caller's words support, with the words that show it.

    A type the caller later denies outright ("no fire", "he's not bleeding")
    keeps only the evidence said after the denial.
    """
    findings: list[Finding] = []
    denied: dict[str, int] = {}
    for index, original, clause in _caller_clauses(segments):
        if _HISTORY.search(clause) or _HYPOTHETICAL.search(clause):
            continue
        for incident in INCIDENT_TYPES:
            for pattern in incident.patterns:
                match = pattern.search(clause)
                if match is None:
                    continue
                if _negated(clause, match):
                    if not _OTHERS.search(clause):
                        denied[incident.name] = index
                    continue
                findings.append(Finding(incident, original.strip(), index))
                break
    findings = [
        f
        for f in findings
        if f.incident.name not in denied or f.segment_index > denied[f.incident.name]
    ]
    return _resolve_combinations(findings, segments)


def _resolve_combinations(findings: list[Finding], segments: Sequence[Segment]) -> list[Finding]:
    """Evidence that means more together than alone.

    Gasping or snoring by someone who is unresponsive is not breathing
    normally (cardiac arrest); by someone awake it is a breathing problem.
    """
    names = {f.incident.name for f in findings}
    if "vehicle_fire" in names:
        findings = [f for f in findings if not _only_vehicle_burning(f)]
    cardiac = [f for f in findings if f.incident.name == "cardiac_arrest"]
    only_agonal = cardiac and all(
        re.search(r"gasping|snoring|gurgling|agonal", _normalise(f.evidence))
        and not re.search(r"not breathing|no pulse|blue|cpr", _normalise(f.evidence))
        for f in cardiac
    )
    if only_agonal and "unconscious" not in names:
        findings = [f for f in findings if f.incident.name != "cardiac_arrest"]
        findings.extend(
            Finding(BY_NAME["breathing_problem"], f.evidence, f.segment_index) for f in cardiac
        )
    return findings


_BUILDING = re.compile(
    r"\b(?:house|home|apartment|building|kitchen|roof|basement|attic|upstairs|downstairs|bedroom|"
    r"store|school|unit|flat|trailer)\b"
)


def _only_vehicle_burning(finding: Finding) -> bool:
    """Structure-fire evidence that names no building, in a call about a burning vehicle."""
    return finding.incident.name == "structure_fire" and not _BUILDING.search(
        _normalise(finding.evidence)
    )


def _raise_reasons(segments: Sequence[Segment]) -> list[str]:
    reasons = []
    for _, original, clause in _caller_clauses(segments):
        for pattern in (_CHILD, _SEVERAL, _TRAPPED):
            match = pattern.search(clause)
            if match is not None and not _negated(clause, match):
                reasons.append(original.strip())
    return reasons


def analyze(segments: Sequence[Segment]) -> Suggestion:
    """Classify the call as transcribed so far."""
    findings = find_incidents(segments)
    location = extract_location(segments)
    if not findings:
        return _suggestion(UNKNOWN, UNKNOWN.priority, location, [], 0.2)
    order = {incident.name: rank for rank, incident in enumerate(INCIDENT_TYPES)}
    best = min(findings, key=lambda f: (f.incident.priority, order[f.incident.name]))
    incident = best.incident
    evidence = _unique(f.evidence for f in findings if f.incident is incident)
    raisers = _raise_reasons(segments) if incident.priority > 1 else []
    if incident.name == "childbirth":
        raisers = [r for r in raisers if not _CHILD.search(_normalise(r))]
    priority = max(1, incident.priority - (1 if raisers else 0))
    confidence = min(0.95, 0.55 + 0.15 * len(evidence))
    return _suggestion(incident, priority, location, [*evidence, *raisers][:4], confidence)


def _unique(items: object) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:  # type: ignore[attr-defined]
        seen.setdefault(str(item), None)
    return list(seen)


def _suggestion(
    incident: IncidentType,
    priority: int,
    location: str | None,
    evidence: list[str],
    confidence: float,
) -> Suggestion:
    return Suggestion(
        incident_type=incident.name,
        priority=priority,
        confidence=round(confidence, 2),
        summary=incident.summary,
        location=location,
        questions=list(incident.questions),
        instructions=list(incident.instructions),
        units=list(incident.units),
        evidence=_unique(evidence),
    )


class RulesAgent(Agent):
    """The offline agent: no network, no model, just :func:`analyze`."""

    name = "rules"

    async def suggest(self, segments: Sequence[Segment]) -> Suggestion:
        return analyze(segments)
