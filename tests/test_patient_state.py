"""The rules agent's reasoning from the patient's state, on wordings written for these tests.

None of these sentences comes from a corpus call: they test the logic
(answers to questions, negation scope, retractions, several types in one
call), not a phrase list.
"""

from __future__ import annotations

import pytest

from dispatch_tui.server.agents.base import Segment
from dispatch_tui.server.agents.negation import Scope, scope_of, scopes
from dispatch_tui.server.agents.patient import Breathing, answer_of, read_patient
from dispatch_tui.server.agents.rules import analyze
from dispatch_tui.server.agents.signs import Answer


def call(*turns: str) -> list[Segment]:
    """Turns alternate dispatcher, caller, dispatcher, ... starting with the dispatcher."""
    return [
        Segment("dispatcher" if index % 2 == 0 else "caller", text)
        for index, text in enumerate(turns)
    ]


def kind(*turns: str) -> str:
    return analyze(call(*turns)).incident_type


# -- answers to the dispatcher's questions -----------------------------------


def test_a_bare_no_to_is_he_breathing_after_a_collapse_is_an_arrest() -> None:
    assert kind("911?", "my uncle went down in the garden", "Is he breathing?", "no") == (
        "cardiac_arrest"
    )


def test_yes_to_breathing_with_no_response_is_unconscious_not_an_arrest() -> None:
    turns = ("911?", "my aunt fainted", "Does she answer you?", "no", "Is she breathing?", "yes")
    state = read_patient(call(*turns))
    assert state.is_conscious is False
    assert state.breathing_is is Breathing.NORMAL
    assert kind(*turns) == "unconscious"


def test_not_sure_if_breathing_in_someone_who_does_not_respond_is_treated_as_an_arrest() -> None:
    turns = ("911?", "my grandad is slumped in his chair", "Can he hear you?", "no nothing",
             "Is he breathing?", "I can't tell")  # fmt: skip
    assert kind(*turns) == "cardiac_arrest"


def test_a_no_to_trouble_breathing_is_normal_breathing() -> None:
    state = read_patient(call("911?", "the kitchen smells of gas", "Any trouble breathing?", "no"))
    assert state.breathing_is is Breathing.NORMAL
    assert kind("911?", "the kitchen smells of gas", "Any trouble breathing?", "no") == (
        "gas_leak_hazmat"
    )


def test_an_answer_after_filler_and_hesitation_still_counts() -> None:
    assert answer_of("uh, hold on... no. no she isn't") is Answer.NO
    assert answer_of("let me look. yeah") is Answer.YES
    assert answer_of("sort of, in little gulps") is Answer.PARTLY


def test_only_the_question_is_read_not_what_the_dispatcher_says_around_it() -> None:
    turns = ("911?", "my wife collapsed", "Is she breathing?", "every few seconds a gasp",
             "That is not normal breathing. Is she on the floor?", "yes")  # fmt: skip
    assert kind(*turns) == "cardiac_arrest"


# -- negation and history by scope ---------------------------------------------


def test_negation_reaches_a_few_words_forward_and_stops_at_but() -> None:
    text = "there is no smoke but the garage is on fire"
    spans = scopes(text)
    smoke = text.index("smoke")
    fire = text.index("on fire")
    assert scope_of(spans, smoke, smoke + 5) is Scope.NEGATED
    assert scope_of(spans, fire, fire + 7) is Scope.AFFIRMED


def test_history_covers_its_clause_before_and_after_the_trigger() -> None:
    assert kind(
        "911?", "he had a seizure years ago, today he slipped on the ice and hurt his hip"
    ) == ("fall_injury")


def test_an_opening_no_answers_the_question_and_negates_nothing_after_it() -> None:
    turns = ("911?", "someone forced my shed door", "Is the person still there?",
             "no it was stolen sometime during the night, my mower is gone")  # fmt: skip
    assert kind(*turns) == "theft_report"


def test_a_stutter_before_a_negated_sign_keeps_its_meaning() -> None:
    assert kind("911?", "she's not, she's not breathing, she's on the rug") == "cardiac_arrest"


def test_a_denied_word_takes_back_its_loose_use() -> None:
    turns = (
        "911?",
        "my brother is on fire tonight at the pub quiz",
        "Is something burning?",
        "no, no fire, sorry, he just won't stop shouting the answers, the music is so loud",
    )
    assert kind(*turns) == "noise_complaint"


# -- retractions and later facts ------------------------------------------------


def test_a_later_statement_replaces_an_earlier_one() -> None:
    turns = (
        "911?",
        "I think my flatmate is dead, he's on the floor",
        "Is he breathing?",
        "wait yes, his chest is moving, slow and steady",
        "Does he wake up?",
        "no",
    )
    state = read_patient(call(*turns))
    assert state.breathing_is is Breathing.NORMAL
    assert kind(*turns) == "unconscious"


def test_a_caller_who_speaks_of_their_own_body_is_awake() -> None:
    turns = ("911?", "my lips are swelling and my throat feels tight after the peanut sauce")
    state = read_patient(call(*turns))
    assert state.is_conscious is True
    assert kind(*turns) == "allergic_reaction"


# -- several types in one call ----------------------------------------------------


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (
            (
                "911?",
                "a lorry hit a cyclist, he's lying in the road",
                "Is he breathing?",
                "no he isn't",
            ),
            "cardiac_arrest",
        ),
        (
            ("911?", "two lads were scrapping outside and one got knifed in the side"),
            "shooting_stabbing",
        ),
        (
            (
                "911?",
                "my neighbour fell down the stairs",
                "Is she awake?",
                "no, but she's breathing okay",
            ),
            "unconscious",
        ),
        (
            (
                "911?",
                "my son swallowed a handful of his sister's pills and he's very sleepy",
                "Is he breathing normally?",
                "yes",
            ),
            "overdose_poisoning",
        ),
    ],
)
def test_the_most_urgent_supported_type_wins(turns: tuple[str, ...], expected: str) -> None:
    assert kind(*turns) == expected


def test_a_child_answer_to_how_old_raises_the_priority_but_the_callers_own_age_does_not() -> None:
    patient = call(
        "911?", "my boy fell off the trampoline and his arm is bent", "How old is he?", "six"
    )
    assert analyze(patient).priority == 2
    caller = call("911?", "my dad fell off the ladder and hurt his leg", "How old are you?", "ten")
    assert analyze(caller).priority == 3


def test_an_open_deciding_question_comes_first_and_lowers_confidence() -> None:
    open_call = analyze(call("911?", "my grandmother collapsed in the hallway and won't answer me"))
    assert open_call.questions[0] == "Is the patient breathing normally?"
    decided = analyze(
        call(
            "911?",
            "my grandmother collapsed in the hallway and won't answer me",
            "Is she breathing?",
            "yes, normally",
        )
    )
    assert decided.incident_type == "unconscious"
    assert decided.questions[0] != "Is the patient breathing normally?"
    assert open_call.confidence < decided.confidence
    assert decided.patient.conscious == "no" and decided.patient.breathing == "normal"


def test_an_arrest_with_cpr_under_way_stays_an_arrest_when_breathing_comes_back() -> None:
    turns = (
        "911?",
        "my husband dropped in the kitchen",
        "Is he breathing?",
        "no",
        "Push hard and fast in the centre of his chest, I'll count with you.",
        "okay I'm pushing",
        "Keep going.",
        "wait, he's breathing again, he's gasping and now it's steady",
    )
    assert kind(*turns) == "cardiac_arrest"


def test_answers_to_trapped_and_how_many_raise_the_priority() -> None:
    crash = ("911?", "a van went into the wall outside the bakery")
    assert analyze(call(*crash)).priority == 2
    assert analyze(call(*crash, "Is anyone trapped?", "yes, the driver")).priority == 1
    assert analyze(call(*crash, "How many people are hurt?", "three I think")).priority == 1
    assert analyze(call(*crash, "How many people are hurt?", "just the one")).priority == 2
