"""The offline rules agent on short calls and on a labelled set of the project's own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dispatch_tui.server.agents.base import Segment
from dispatch_tui.server.agents.location import extract_location
from dispatch_tui.server.agents.rules import RulesAgent, analyze

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from agent_eval import evaluate, load_calls, location_matches

LABELLED = Path(__file__).parent / "data" / "labelled_calls.jsonl"


def caller(*lines: str) -> list[Segment]:
    return [Segment("caller", line) for line in lines]


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("she collapsed and she isn't breathing", "cardiac_arrest"),
        ("he went under at the deep end and he's not coming up", "drowning"),
        ("he's choking on a piece of meat", "choking"),
        ("the kitchen is on fire and smoke is pouring out", "structure_fire"),
        ("my cousin got stabbed in the arm", "shooting_stabbing"),
        ("she can't catch her breath, her asthma is bad", "breathing_problem"),
        ("he has crushing chest pain", "chest_pain"),
        ("his face is drooping and his speech is slurred", "stroke"),
        ("she's having a seizure", "seizure"),
        ("he took too many sleeping pills", "overdose_poisoning"),
        ("she got stung by a bee and her throat is swelling", "allergic_reaction"),
        ("he cut his arm and it won't stop bleeding", "severe_bleeding"),
        ("my wife is in labour and the contractions are close", "childbirth"),
        ("a car crash, two vehicles collided", "traffic_collision"),
        ("my car is on fire in the lot", "vehicle_fire"),
        ("i smell gas in the whole building", "gas_leak_hazmat"),
        ("two guys attacked him and punched him", "assault"),
        ("my boyfriend is hitting me", "domestic_violence"),
        ("someone is breaking in right now", "burglary_in_progress"),
        ("he says he wants to kill himself", "suicidal_person"),
        ("grandma fell down the stairs and can't get up", "fall_injury"),
        ("he's diabetic and his blood sugar is really low", "diabetic_emergency"),
        ("my son is missing, he wandered off at the fair", "missing_person"),
        ("my car was broken into overnight and my laptop was stolen", "theft_report"),
        ("the neighbours have a loud party going", "noise_complaint"),
        ("hello? i need to talk to someone", "unknown"),
    ],
)
def test_each_type_from_plain_caller_words(words: str, kind: str) -> None:
    assert analyze(caller(words)).incident_type == kind


def test_negation_and_history_are_not_evidence() -> None:
    assert analyze(caller("he's breathing fine, he just fell and hurt his hip")).incident_type == (
        "fall_injury"
    )
    assert analyze(caller("no weapons, nobody got shot, they were just yelling")).incident_type != (
        "shooting_stabbing"
    )
    history = analyze(
        caller("he had a heart attack last year", "today he slipped and hurt his leg")
    )
    assert history.incident_type == "fall_injury"


def test_dispatcher_questions_are_not_evidence() -> None:
    call = [
        Segment("dispatcher", "Is he breathing? Is there any bleeding? Any chest pain?"),
        Segment("caller", "he tripped on the step and his ankle hurts"),
    ]
    assert analyze(call).incident_type == "fall_injury"


def test_most_urgent_type_wins_and_priorities_rise() -> None:
    crash = analyze(caller("we had a car crash and the driver is not breathing"))
    assert crash.incident_type == "cardiac_arrest"
    assert crash.priority == 1
    child = analyze(caller("my baby is having a seizure"))
    assert (child.incident_type, child.priority) == ("seizure", 1)
    trapped = analyze(caller("a car accident, the driver is trapped inside"))
    assert (trapped.incident_type, trapped.priority) == ("traffic_collision", 1)
    plain = analyze(caller("a car accident, everyone got out fine"))
    assert (plain.incident_type, plain.priority) == ("traffic_collision", 2)


def test_evidence_quotes_the_caller() -> None:
    call = caller("please help", "my husband collapsed and he's not breathing")
    suggestion = analyze(call)
    assert suggestion.evidence
    transcript = " ".join(s.text for s in call)
    assert all(quote in transcript for quote in suggestion.evidence)
    assert suggestion.questions and suggestion.instructions and suggestion.units


def test_locations_as_said_including_corrections() -> None:
    cases = {
        "we're at 418 elm street apartment 2b": "418 elm street apartment 2b",
        "it's on the corner of 5th and main": "corner of 5th and main",
        "i-95 northbound at mile marker 60, a truck": "i-95 northbound at mile marker 60",
        "it's 5 elm street, sorry no, 15 elm street": "15 elm street",
        "the parking lot behind the central library": "parking lot behind the central library",
        "highway 9 near mile marker 112, a car flipped": "highway 9 near mile marker 112",
        "my neighbour is trapped upstairs at 9 birch road": "9 birch road",
        "he got stabbed in the kroger parking lot on delmar boulevard": (
            "the kroger parking lot on delmar boulevard"
        ),
    }
    for said, expected in cases.items():
        found = extract_location(caller(said))
        assert location_matches(expected, found), (said, found)
    assert extract_location(caller("please hurry he's not breathing")) is None


def test_a_location_does_not_swallow_what_happened_before_it() -> None:
    said = "my neighbour is trapped upstairs at 9 birch road"
    assert extract_location(caller(said)) == "9 birch road"
    said = "highway 9 near mile marker 112, a car flipped"
    assert extract_location(caller(said)) == "highway 9 near mile marker 112"


async def test_labelled_set_of_our_own() -> None:
    report = await evaluate(load_calls(LABELLED), RulesAgent())
    assert report.type_accuracy >= 0.9
    assert report.sensitivity("cardiac_arrest") == 1.0
    assert report.priority_accuracy >= 0.85
    assert report.location_accuracy >= 0.8
