"""The offline rules agent: reads a call and suggests type, priority and advice.

It reads what the caller says (a dispatcher's questions are not evidence),
ignores what is negated or in the past, lets the most urgent type win, and
raises the priority for a child, several victims or someone trapped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents.base import Agent, Segment, is_dispatcher
from dispatch_tui.server.agents.incident_table import (
    BY_NAME,
    INCIDENT_TYPES,
    UNKNOWN,
    IncidentType,
)
from dispatch_tui.server.agents.incidents import DENIALS, PATTERNS
from dispatch_tui.server.agents.location import extract_location
from dispatch_tui.server.agents.negation import Scope, has_trigger, scope_of, scopes
from dispatch_tui.server.agents.patient import (
    Breathing,
    PatientState,
    answer_of,
    in_original,
    normalise,
    question_topics,
    read_patient,
)
from dispatch_tui.server.agents.signs import (
    AGE,
    CHILD,
    CHILD_UNDER,
    SEVERAL,
    SEVERAL_AT_SCENE,
    TRAPPED,
    Answer,
    Topic,
    age_in_years,
)

#: Every type but ``unknown``, in the table's order, which breaks ties of priority.
_TYPES = tuple(incident for incident in INCIDENT_TYPES if incident is not UNKNOWN)
_CLAUSE_BREAK = re.compile(r"[!?;]+|\.+")
#: What a caller says before taking it back ("..., i mean ...") does not count.
_RETRACTION = re.compile(r"\b(?:i mean|i meant)\b")
#: "anyone else", "the other one": a negation about someone else vetoes nothing.
_OTHERS = re.compile(r"\b(?:else|other|others|anybody|anyone)\b")
#: Types read from the patient's state (:mod:`patient`) rather than from keywords.
_FROM_STATE = frozenset({"cardiac_arrest", "unconscious", "breathing_problem"})
_GENERAL = ("chest_pain", "severe_bleeding", "unconscious", "breathing_problem")
#: Causes of not breathing that name the call better than "cardiac arrest" (same priority).
_CAUSES = frozenset({"choking", "drowning"})

_CHILD = re.compile(rf"\b(?:{CHILD})\b")
_SEVERAL = re.compile(rf"\b(?:{SEVERAL})\b")
_TRAPPED = re.compile(rf"\b(?:{TRAPPED})\b")
_SEVERAL_AT_SCENE = re.compile(rf"\b(?:{SEVERAL_AT_SCENE})\b")
#: The patient's age asked ("how old is he?"); the caller's ("how old are you?") only
#: counts when the caller is the one hurt.
_HOW_OLD = re.compile(r"\bhow old (?!are you)|\b(?:his|her|their|the patient's) age\b")
_HOW_OLD_ARE_YOU = re.compile(r"\bhow old are you\b")
_CALLER_HURT = re.compile(
    r"\b(?:hit|hitting|hits|hurt|hurting|beat|beating|attacked|kicked|kicking|punched|punching|"
    r"stabbed|cut|choking|touched) me\b|\bi(?:'m| am) (?:hurt|bleeding|injured)\b"
)
_AGE_ANSWER = re.compile(
    rf"^\W*(?:(?:he|she|they)(?:'s| is| are)\s+)?(?:only\s+|just\s+)?({AGE})\b(?!\s*(?:years? old )?(?:and a half )?(?:minutes|hours|o'clock))"
)
#: Calls with no patient whose age raises the priority (children at home during a
#: break-in are not its victims; a baby being born is not a child patient). A
#: missing child does raise it.
_NO_PATIENT = frozenset({"childbirth", "burglary_in_progress", "theft_report", "noise_complaint"})
#: Where "inside" and "locked in" mean something else than trapped.
_NOT_TRAPPED = frozenset(
    {"burglary_in_progress", "domestic_violence", "assault", "suicidal_person", "missing_person"}
)


@dataclass(frozen=True, slots=True)
class Finding:
    incident: IncidentType
    evidence: str
    segment_index: int


def _clauses(text: str) -> list[str]:
    """The sentences of one turn, so negation and history stay local."""
    return [piece for piece in _CLAUSE_BREAK.split(text) if piece.strip()]


def _negated(clause: str, match: re.Match[str]) -> bool:
    own = has_trigger(match.group(0))
    return scope_of(scopes(clause), match.start(), match.end(), own) is not Scope.AFFIRMED


def _caller_clauses(segments: Sequence[Segment]) -> list[tuple[int, str, str]]:
    """``(segment index, original text, lowered clause)`` of everything the caller said."""
    return [
        (index, original, clause)
        for index, segment in enumerate(segments)
        if not is_dispatcher(segment)
        for original, clause in _sentences(segment.text)
    ]


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[tuple[str, str], ...]:
    """``(original, lowered)`` sentences of one turn, each after any retraction in it."""
    found = []
    for clause in _clauses(normalise(text)):
        retracted = list(_RETRACTION.finditer(clause))
        if retracted:
            clause = clause[retracted[-1].end() :]
        found.append((in_original(text, clause), clause))
    return tuple(found)


def find_incidents(segments: Sequence[Segment], state: PatientState | None = None) -> list[Finding]:
    """Every type the call supports, with the caller's words that show it.

    Cardiac arrest, unconsciousness and breathing problems come from the
    patient's state; the other types from what the caller says of them. A
    type the caller later denies outright ("no fire", "he's not bleeding")
    keeps only the evidence said after the denial.
    """
    findings: list[Finding] = []
    denied: dict[str, int] = {}
    for index, segment in enumerate(segments):
        if not is_dispatcher(segment):
            for name in _denials(normalise(segment.text)):
                denied[name] = index
    for index, original, clause in _caller_clauses(segments):
        affirmed, negated = _read_clause(clause)
        for name in negated:
            denied[name] = index
        findings.extend(Finding(BY_NAME[name], original.strip(), index) for name in affirmed)
    findings.extend(_confirmed(segments))
    findings = [
        f
        for f in findings
        if f.incident.name not in denied or f.segment_index > denied[f.incident.name]
    ]
    state = state or read_patient(segments)
    findings.extend(_from_state(state, segments))
    return _resolve_combinations(findings, segments, state)


def _confirmed(segments: Sequence[Segment]) -> list[Finding]:
    """Types the dispatcher asked about and the caller said yes to ("Is it chest pain?" "yes").

    The evidence is the caller's own answer.
    """
    found: list[Finding] = []
    for index in range(1, len(segments)):
        question, answer = segments[index - 1], segments[index]
        if not is_dispatcher(question) or is_dispatcher(answer):
            continue
        if answer_of(answer.text) is not Answer.YES:
            continue
        for asked in re.findall(r"[^.!?]*\?", normalise(question.text))[-1:]:
            affirmed, _ = _read_clause(asked.strip(" ?"))
            found.extend(Finding(BY_NAME[name], answer.text.strip(), index) for name in affirmed)
    return found


@lru_cache(maxsize=8192)
def _read_clause(clause: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The types one caller sentence affirms, and those it denies.

    Cached: the agent reads the whole call again at every utterance.
    """
    spans = scopes(clause)
    affirmed: list[str] = []
    negated: list[str] = []
    for incident in _TYPES:
        if incident.name in _FROM_STATE:
            continue
        for pattern in PATTERNS[incident.name]:
            match = pattern.search(clause)
            if match is None:
                continue
            own = has_trigger(match.group(0))
            scope = scope_of(spans, match.start(), match.end(), own)
            if scope is Scope.NEGATED and not _OTHERS.search(clause):
                negated.append(incident.name)
            if scope is Scope.AFFIRMED:
                affirmed.append(incident.name)
                break
    return tuple(affirmed), tuple(name for name in negated if name not in affirmed)


@lru_cache(maxsize=8192)
def _denials(text: str) -> tuple[str, ...]:
    """The types whose key words one caller turn denies ("no, no fire")."""
    spans = scopes(text)
    denied = []
    for name, words in DENIALS.items():
        if any(pattern.search(text) for pattern in PATTERNS[name]):
            continue  # "it won't stop bleeding" says more than "bleeding" denied
        if any(
            scope_of(spans, match.start(), match.end()) is Scope.NEGATED
            for match in words.finditer(text)
        ):
            denied.append(name)
    return tuple(denied)


def _from_state(state: PatientState, segments: Sequence[Segment]) -> list[Finding]:
    found: list[Finding] = []
    for name, evidence in (
        ("cardiac_arrest", state.arrest_evidence()),
        ("unconscious", state.unconscious_evidence()),
        ("breathing_problem", state.breathing_problem_evidence()),
    ):
        found.extend(Finding(BY_NAME[name], words, len(segments)) for words in evidence)
    return found


def _only_noisy_breathing(state: PatientState) -> bool:
    """The arrest shows only in abnormal breathing: no pulse, CPR or absent breathing said."""
    return not state.arrest_signs and state.breathing_is in (
        Breathing.ABNORMAL,
        Breathing.DIFFICULT,
        Breathing.UNCERTAIN,
    )


def _resolve_combinations(
    findings: list[Finding], segments: Sequence[Segment], state: PatientState
) -> list[Finding]:
    """Evidence that means less together than alone: see :data:`_EXPLAINED`.

    The noisy breaths and stillness of a fit are not an arrest unless breathing
    is said to be absent, or there is no pulse.
    """
    names = {f.incident.name for f in findings}
    if "seizure" in names and _only_noisy_breathing(state):
        findings = [f for f in findings if f.incident.name != "cardiac_arrest"]
    for causes, weak, unless in _EXPLAINED:
        if names & causes:
            findings = [
                f
                for f in findings
                if f.incident.name != weak or unless.search(normalise(f.evidence))
            ]
    return findings


#: Swelling after a beating or a crash is an injury, not an allergy, unless the call says allergy.
_INJURIES = frozenset({"assault", "domestic_violence", "traffic_collision", "fall_injury"})
_ALLERGY_CUES = re.compile(
    r"\b(?:allerg\w*|anaphyla\w*|sting|stung|bee|wasp|epi ?pen|hives|itch\w*|rash|ate|eaten|food|"
    r"peanuts?|nuts?|shellfish|shrimp|medicine|medication|antibiotic)\b"
)
#: Stroke signs an injury cannot explain; those breathlessness cannot; those a diabetic's sugar cannot.
_STROKE_AFTER_INJURY = re.compile(
    r"\b(?:stroke|face|mouth|smile|droop\w*|slurr\w*|speech|words|sense|talking|side)\b"
)
_STROKE_WHEN_BREATHLESS = re.compile(
    r"\b(?:stroke|face|mouth|smile|droop\w*|side|arm|leg|slurr\w*)\b"
)
_STROKE_IN_DIABETIC = re.compile(
    r"\b(?:stroke|face|mouth|smile|droop\w*|one side|left|right|arm|leg)\b"
)
#: An arm heavy or numb with chest pain is the heart, unless the face, speech or a leg is hit.
_STROKE_BEYOND_AN_ARM = re.compile(
    r"\b(?:stroke|face|mouth|smile|droop\w*|slurr\w*|speech|words|side|leg)\b"
)
#: Holding the chest while fighting for breath is the breathing, unless pain is said.
_CHEST_PAIN_WORDS = re.compile(
    r"\b(?:pain\w*|pressure|crushing|squeezing|heavy|heaviness|tight\w*|heart attack|hurts?|hurting|ache|"
    r"aching|burning|elephant)\b"
)
#: A burning car is no building fire unless a building is named.
_BUILDING = re.compile(
    r"\b(?:house|home|apartment|building|kitchen|roof|basement|attic|upstairs|downstairs|bedroom|"
    r"store|school|unit|flat|trailer)\b"
)
#: (types present, type whose evidence they explain away, words that keep that evidence).
_EXPLAINED: tuple[tuple[frozenset[str], str, re.Pattern[str]], ...] = (
    (frozenset({"vehicle_fire"}), "structure_fire", _BUILDING),
    (frozenset({"breathing_problem"}), "stroke", _STROKE_WHEN_BREATHLESS),
    (frozenset({"breathing_problem"}), "chest_pain", _CHEST_PAIN_WORDS),
    (frozenset({"chest_pain"}), "stroke", _STROKE_BEYOND_AN_ARM),
    (_INJURIES, "allergic_reaction", _ALLERGY_CUES),
    (_INJURIES, "stroke", _STROKE_AFTER_INJURY),
    (frozenset({"diabetic_emergency"}), "stroke", _STROKE_IN_DIABETIC),
)


def _raise_reasons(segments: Sequence[Segment], incident: str) -> list[str]:
    """The caller's words that raise the priority: a child, several victims, someone trapped.

    A child is also a short answer under 16 to the dispatcher's "how old".
    """
    raisers = [_SEVERAL] if incident in _NOT_TRAPPED else [_SEVERAL, _SEVERAL_AT_SCENE, _TRAPPED]
    if incident not in _NO_PATIENT:
        raisers.append(_CHILD)
    reasons = []
    for _, original, clause in _caller_clauses(segments):
        for pattern in raisers:
            match = pattern.search(clause)
            if match is not None and not _negated(clause, match):
                reasons.append(original.strip())
    if incident not in _NO_PATIENT:
        caller_hurt = any(
            _CALLER_HURT.search(normalise(s.text)) for s in segments if not is_dispatcher(s)
        )
        asked_age = False
        for segment in segments:
            if is_dispatcher(segment):
                asked = normalise(segment.text)
                asked_age = bool(_HOW_OLD.search(asked)) or (
                    caller_hurt and bool(_HOW_OLD_ARE_YOU.search(asked))
                )
                continue
            answer = _AGE_ANSWER.search(normalise(segment.text)) if asked_age else None
            if answer is not None and age_in_years(answer.group(1)) < CHILD_UNDER:
                reasons.append(segment.text.strip())
            asked_age = False
    if incident not in _NOT_TRAPPED:
        reasons.extend(_answered_raisers(segments))
    return reasons


def _answered_raisers(segments: Sequence[Segment]) -> list[str]:
    """A yes to "is anyone trapped?", or two or more to "how many are hurt?"."""
    found = []
    for index in range(1, len(segments)):
        question, answer = segments[index - 1], segments[index]
        if not is_dispatcher(question) or is_dispatcher(answer):
            continue
        asked = " ".join(re.findall(r"[^.!?]*\?", normalise(question.text))[-1:])
        said = normalise(answer.text)
        if _ASKED_TRAPPED.search(asked) and answer_of(answer.text) is Answer.YES:
            found.append(answer.text.strip())
        elif _ASKED_HOW_MANY.search(asked):
            count = _COUNT_ANSWER.search(said)
            if count is not None and age_in_years(count.group(1)) >= 2:
                found.append(answer.text.strip())
    return found


_ASKED_TRAPPED = re.compile(r"\b(?:trapped|stuck|pinned|can't get out|still inside|still in the)\b")
_ASKED_HOW_MANY = re.compile(
    r"\bhow many\b.*\b(?:hurt|injured|people|patients|victims|sick|involved|inside)\b"
)
_COUNT_ANSWER = re.compile(
    rf"^\W*(?:(?:at least|about|maybe|like|around|i think|i count)\s+)*({AGE})\b(?!\s*(?:years|months))"
)


def analyze(segments: Sequence[Segment]) -> Suggestion:
    """Classify the call as transcribed so far."""
    state = read_patient(segments)
    findings = find_incidents(segments, state)
    location = extract_location(segments)
    if not findings:
        return _suggestion(UNKNOWN, UNKNOWN.priority, location, [], 0.2, state)
    order = {incident.name: rank for rank, incident in enumerate(_TYPES)}
    # What the patient's state shows (unconscious, short of breath) is the
    # general case; a named cause of the same urgency (a seizure, an
    # overdose) says more about the call.
    order.update({name: len(order) + rank for rank, name in enumerate(_GENERAL)})
    if _CAUSES & {f.incident.name for f in findings} and _only_noisy_breathing(state):
        # A child choking, a swimmer pulled out, breathing badly but breathing: the
        # call is about the choking or the drowning. Not breathing at all is an arrest.
        order.update({name: -1 for name in _CAUSES})
    best = min(findings, key=lambda f: (f.incident.priority, order[f.incident.name]))
    incident = best.incident
    evidence = _unique(f.evidence for f in findings if f.incident is incident)
    raisers = _raise_reasons(segments, incident.name) if incident.priority > 1 else []
    priority = max(1, incident.priority - (1 if raisers else 0))
    rivals = {f.incident.name for f in findings if f.incident.priority == incident.priority}
    confidence = _confidence(len(evidence), len(rivals) - 1, _deciding_question(state) is not None)
    evidence = [*evidence, *raisers][:4]
    return _suggestion(incident, priority, location, evidence, confidence, state)


def _confidence(evidence: int, rivals: int, undecided: bool) -> float:
    """More independent evidence, fewer rival types, and a decided patient state: surer."""
    score = 0.5 + 0.15 * evidence - 0.1 * rivals - (0.2 if undecided else 0.0)
    return min(0.95, max(0.2, score))


def _answered(question: str, state: PatientState) -> bool:
    """A question about the patient's state that the call has answered already."""
    topics = question_topics(question)
    if not topics or not topics <= {Topic.CONSCIOUS, Topic.BREATHING, Topic.BREATHING_NORMALLY}:
        return False
    known = set()
    if state.is_conscious is not None:
        known.add(Topic.CONSCIOUS)
    if state.breathing_is not in (None, Breathing.UNCERTAIN):
        known |= {Topic.BREATHING, Topic.BREATHING_NORMALLY}
    return topics <= known


def _deciding_question(state: PatientState) -> str | None:
    """The question whose answer would change the advice most, while it is open.

    Down (collapsed, not answering) with breathing not yet known: is it an
    arrest? Breathing badly with consciousness not known: is it one?
    """
    down = state.is_conscious is False or state.collapsed is not None
    if down and state.breathing_is in (None, Breathing.UNCERTAIN) and not state.arrest_signs:
        return "Is the patient breathing normally?"
    troubled = state.breathing_is in (Breathing.ABNORMAL, Breathing.DIFFICULT) or state.cyanosis
    if troubled and state.is_conscious is None:
        return "Is the patient awake and able to talk to you?"
    return None


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
    state: PatientState,
) -> Suggestion:
    deciding = _deciding_question(state)
    questions = [q for q in incident.questions if not _answered(q, state)]
    if deciding is not None:
        questions = [deciding, *(q for q in questions if q != deciding)]
    return Suggestion(
        incident_type=incident.name,
        priority=priority,
        confidence=round(confidence, 2),
        summary=incident.summary,
        location=location,
        questions=questions,
        instructions=list(incident.instructions),
        units=list(incident.units),
        evidence=_unique(evidence),
        patient=state.summary(),
    )


class RulesAgent(Agent):
    """The offline agent: no network, no model, just :func:`analyze`."""

    name = "rules"

    async def suggest(self, segments: Sequence[Segment]) -> Suggestion:
        return analyze(segments)
