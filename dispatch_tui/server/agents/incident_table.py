"""The incident types the advice agents know, with each type's facts: one table.

The rules agent advises from it (:mod:`~dispatch_tui.server.agents.rules`, reading
calls with the patterns of :mod:`~dispatch_tui.server.agents.incidents`), the OpenAI
agent's prompt and strict schema list it, and the table in docs/agent.md is checked
against it (tests/test_agent_docs.py). Advice is written in our own words; it is not a
licensed dispatch protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class IncidentType:
    """One incident type, and what an agent advises when a call is of that type."""

    name: str
    #: The default priority, 1 (life threat now) to 5 (no emergency).
    priority: int
    summary: str
    #: What callers typically say, in a few words: the OpenAI agent's prompt gives it.
    typical: str
    questions: tuple[str, ...]
    instructions: tuple[str, ...]
    units: tuple[str, ...]


AMBULANCE_ALS: Final = "ALS ambulance"
AMBULANCE_BLS: Final = "BLS ambulance"
ENGINE: Final = "fire engine"
POLICE: Final = "police"

#: Every type, ``unknown`` last. Between types of one priority found in the same
#: call the rules agent picks the one listed first (but for the preferences in
#: :func:`~dispatch_tui.server.agents.rules.analyze`), so within a priority the
#: more specific or more time-critical type comes first.
INCIDENT_TYPES: Final[tuple[IncidentType, ...]] = (
    IncidentType(
        name="cardiac_arrest",
        priority=1,
        summary="Unresponsive patient, not breathing normally",
        typical=(
            "collapsed and not breathing, no pulse, unresponsive and gasping (agonal breathing), "
            '"turning blue"'
        ),
        questions=(
            "Is the patient awake and breathing normally?",
            "Is there an AED (defibrillator) nearby?",
            "Is anyone there able to do chest compressions?",
        ),
        instructions=(
            "Lay the patient flat on their back on a firm surface",
            "Start chest compressions: hard and fast in the centre of the chest",
            "Send someone to fetch an AED and unlock the door for the crew",
        ),
        units=(AMBULANCE_ALS, ENGINE),
    ),
    IncidentType(
        name="drowning",
        priority=1,
        summary="Person in or pulled from water",
        typical="pulled from water, went under, not coming up",
        questions=(
            "Is the person out of the water now?",
            "Are they breathing?",
            "How long were they under the water?",
        ),
        instructions=(
            "Do not go into the water yourself unless it is safe",
            "Once out of the water, if not breathing start rescue breaths and compressions",
            "Keep the person warm and on their side if breathing",
        ),
        units=(AMBULANCE_ALS, ENGINE, "water rescue"),
    ),
    IncidentType(
        name="choking",
        priority=1,
        summary="Airway obstruction, patient choking",
        typical="something stuck in the throat, can't breathe or speak, clutching throat",
        questions=(
            "Can the patient cough, speak or cry?",
            "Is the patient still conscious?",
            "How old is the patient?",
        ),
        instructions=(
            "If they can cough, encourage them to keep coughing",
            "If they cannot breathe or speak, give firm back blows then abdominal thrusts",
            "If they become unresponsive, lower them to the floor and start compressions",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="structure_fire",
        priority=1,
        summary="Fire in a building",
        typical="house, apartment or building on fire, smoke from windows, people trapped",
        questions=(
            "Is anyone still inside the building?",
            "Which floor or part of the building is burning?",
            "Is everyone who got out accounted for?",
        ),
        instructions=(
            "Get everyone out and stay out; do not go back inside",
            "Close doors behind you if it is safe to do so",
            "Stay low under the smoke and meet the crews at the front",
        ),
        units=(ENGINE, "ladder truck", AMBULANCE_BLS),
    ),
    IncidentType(
        name="shooting_stabbing",
        priority=1,
        summary="Gunshot or stab wound",
        typical="shot, gunshots, stabbed, knife wound, active shooter",
        questions=(
            "Is the attacker still there, and where are they now?",
            "Where on the body is the wound?",
            "Is the patient awake and breathing?",
        ),
        instructions=(
            "Stay somewhere safe; do not approach the attacker",
            "Press firmly on the wound with a cloth and keep pressing",
            "Do not remove any object stuck in the wound",
        ),
        units=(POLICE, AMBULANCE_ALS),
    ),
    IncidentType(
        name="overdose_poisoning",
        priority=2,
        summary="Suspected overdose or poisoning",
        typical="took too many pills, overdose, swallowed chemicals, heroin or fentanyl",
        questions=(
            "What did they take, how much, and when?",
            "Are they awake and breathing normally?",
            "Is there naloxone (Narcan) available?",
        ),
        instructions=(
            "If they are breathing but drowsy, turn them on their side",
            "Keep the containers or pills to give to the crew",
            "Do not make them vomit",
        ),
        units=(AMBULANCE_ALS, POLICE),
    ),
    IncidentType(
        name="childbirth",
        priority=2,
        summary="Woman in labour",
        typical="in labour, baby coming, waters broke, crowning",
        questions=(
            "How far apart are the contractions?",
            "Is this her first baby, and how many weeks pregnant is she?",
            "Can you see the baby's head?",
        ),
        instructions=(
            "Have her lie down or sit propped up on a clean surface",
            "Get clean towels ready and keep the room warm",
            "Do not pull on the baby; support the head as it comes",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="stroke",
        priority=2,
        summary="Possible stroke",
        typical="face drooping, slurred speech, one side weak or numb",
        questions=(
            "When was the patient last seen normal?",
            "Can they smile, raise both arms and repeat a simple sentence?",
            "Do they take blood thinners?",
        ),
        instructions=(
            "Note the time the symptoms started",
            "Do not give food, drink or medication",
            "Keep them comfortable; on their side if they vomit",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="chest_pain",
        priority=2,
        summary="Chest pain, patient conscious",
        typical="chest pain or pressure, pain down the arm, suspected heart attack while conscious",
        questions=(
            "Is the patient awake and breathing normally?",
            "When did the pain start, and does it spread to the arm, jaw or back?",
            "Any heart history, and is aspirin allowed for them?",
        ),
        instructions=(
            "Have the patient stop and rest in the most comfortable position",
            "Loosen tight clothing",
            "If they become unresponsive and stop breathing normally, start compressions",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="allergic_reaction",
        priority=2,
        summary="Allergic reaction",
        typical="swelling of face or throat, hives, bee sting with reaction, EpiPen",
        questions=(
            "Is the patient having trouble breathing or swallowing?",
            "Do they carry an adrenaline auto-injector (EpiPen)?",
            "What were they exposed to?",
        ),
        instructions=(
            "Help them use their own auto-injector in the outer thigh",
            "Let them sit up if breathing is hard, or lie flat if they feel faint",
            "A second dose may be needed if symptoms return",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="breathing_problem",
        priority=2,
        summary="Difficulty breathing, patient conscious",
        typical="short of breath, can't catch breath, asthma attack, wheezing, but conscious",
        questions=(
            "Can the patient speak in full sentences?",
            "Do they have an inhaler or breathing medication?",
            "Is their colour normal?",
        ),
        instructions=(
            "Help them sit upright and lean forward slightly",
            "Help them use their own inhaler if they have one",
            "Keep them calm and still",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="severe_bleeding",
        priority=2,
        summary="Serious bleeding",
        typical="bleeding heavily, won't stop bleeding, deep cut, amputation",
        questions=(
            "Where is the bleeding coming from?",
            "Is the patient awake and breathing?",
            "Is the bleeding slowing with pressure?",
        ),
        instructions=(
            "Press firmly on the wound with a clean cloth and do not let go",
            "If a limb is bleeding heavily and pressure fails, apply a tourniquet above the wound",
            "Keep the patient lying down and warm",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="vehicle_fire",
        priority=2,
        summary="Vehicle on fire",
        typical="car or truck on fire, engine smoking with flames",
        questions=(
            "Is anyone still in or near the vehicle?",
            "What kind of vehicle, and is it near buildings or fuel pumps?",
            "Is it leaking fuel?",
        ),
        instructions=(
            "Keep everyone well away from the vehicle, at least 30 metres",
            "Do not try to open the hood or put the fire out yourself",
            "Stay upwind of the smoke",
        ),
        units=(ENGINE,),
    ),
    IncidentType(
        name="traffic_collision",
        priority=2,
        summary="Traffic collision",
        typical="car crash, vehicles collided, hit by a car, rollover, motorcycle down",
        questions=(
            "How many vehicles and how many people are hurt?",
            "Is anyone trapped in a vehicle?",
            "Is there fire, smoke or leaking fuel?",
        ),
        instructions=(
            "Stay off the road and turn on hazard lights if you are in a car",
            "Do not move injured people unless they are in danger",
            "Tell anyone hurt to keep their head and neck still",
        ),
        units=(AMBULANCE_ALS, POLICE, ENGINE),
    ),
    IncidentType(
        name="gas_leak_hazmat",
        priority=2,
        summary="Gas leak or hazardous materials",
        typical="smell of gas, chemical spill, carbon monoxide alarm, fumes",
        questions=(
            "Is anyone feeling sick, dizzy or having trouble breathing?",
            "Where is the smell or spill strongest?",
            "Is everyone out of the building?",
        ),
        instructions=(
            "Get everyone out into fresh air and stay out",
            "Do not switch lights or appliances on or off, and no flames",
            "Leave doors open behind you and wait upwind",
        ),
        units=(ENGINE, "hazmat unit", AMBULANCE_BLS),
    ),
    IncidentType(
        name="suicidal_person",
        priority=2,
        summary="Person threatening self-harm",
        typical="wants to kill themselves, on a ledge, threatening self-harm",
        questions=(
            "Is the person with you now, and are they hurt?",
            "Do they have a weapon, pills or other means with them?",
            "Are you safe where you are?",
        ),
        instructions=(
            "Stay with them if it is safe and keep talking calmly",
            "Remove anything they could use to harm themselves if you safely can",
            "Do not leave them alone",
        ),
        units=(POLICE, AMBULANCE_BLS),
    ),
    IncidentType(
        name="domestic_violence",
        priority=2,
        summary="Domestic violence",
        typical="partner or family member hitting, threatening at home",
        questions=(
            "Is the person who hurt you still there, and where?",
            "Are there any weapons in the home?",
            "Is anyone injured, and are there children present?",
        ),
        instructions=(
            "If you can, get to a room with a lock or leave the home",
            "Stay on the line; if you cannot talk, keep the line open",
            "Do not confront the other person",
        ),
        units=(POLICE, AMBULANCE_BLS),
    ),
    IncidentType(
        name="assault",
        priority=2,
        summary="Assault",
        typical="beaten up, attacked, punched, fight in progress (no weapon)",
        questions=(
            "Is the attacker still there, and which way did they go?",
            "Were any weapons seen?",
            "Is anyone injured?",
        ),
        instructions=(
            "Stay at a safe distance; do not get involved",
            "Note descriptions of the people involved",
            "Keep the injured person still",
        ),
        units=(POLICE, AMBULANCE_BLS),
    ),
    IncidentType(
        name="burglary_in_progress",
        priority=2,
        summary="Burglary in progress",
        typical="someone breaking in now, intruder in the house",
        questions=(
            "Is the intruder still inside, and where are you?",
            "Can you describe them or any weapons?",
            "Can you get out safely or lock yourself in a room?",
        ),
        instructions=(
            "Lock yourself in a room or leave if you can do so safely",
            "Stay quiet and keep the line open",
            "Do not confront the intruder",
        ),
        units=(POLICE,),
    ),
    IncidentType(
        name="fall_injury",
        priority=3,
        summary="Fall with injury",
        typical=(
            "fell down, fell off a ladder, can't get up, hip or leg hurt, conscious and breathing"
        ),
        questions=(
            "Is the patient awake and breathing normally?",
            "Did they hit their head, and how far did they fall?",
            "Where does it hurt, and can they move it?",
        ),
        instructions=(
            "Do not move them if they hurt their head, neck or back",
            "Keep them warm and still",
            "Do not give food or drink",
        ),
        units=(AMBULANCE_BLS,),
    ),
    IncidentType(
        name="unconscious",
        priority=2,
        summary="Unconscious patient, breathing",
        typical="passed out or fainted but breathing, won't wake up but breathing",
        questions=(
            "Is the patient breathing normally?",
            "Did they hit their head or take anything?",
            "Any medical history such as diabetes or epilepsy?",
        ),
        instructions=(
            "Turn the patient on their side to keep the airway open",
            "Watch their breathing; tell me at once if it changes",
            "Do not give anything by mouth",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="seizure",
        priority=2,
        summary="Seizure",
        typical="convulsing, shaking, fitting, epileptic",
        questions=(
            "Is the patient still seizing, and for how long?",
            "Do they have a history of seizures?",
            "Are they breathing normally now?",
        ),
        instructions=(
            "Move hard objects away and protect the head",
            "Do not restrain them or put anything in their mouth",
            "When it stops, roll them onto their side",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="diabetic_emergency",
        priority=3,
        summary="Diabetic emergency",
        typical="low blood sugar, diabetic and confused or shaky",
        questions=(
            "Is the patient awake and able to swallow?",
            "Have they checked their blood sugar, and what was it?",
            "When did they last eat or take insulin?",
        ),
        instructions=(
            "If awake and able to swallow, give sugar: juice, soda or glucose",
            "If drowsy, do not give anything by mouth; turn them on their side",
        ),
        units=(AMBULANCE_ALS,),
    ),
    IncidentType(
        name="missing_person",
        priority=3,
        summary="Missing person",
        typical="child or elderly person missing, wandered off",
        questions=(
            "What do they look like and what are they wearing?",
            "When and where were they last seen?",
            "Do they have any medical conditions or a phone?",
        ),
        instructions=(
            "Check the home and nearby places they like to go",
            "Keep someone at the home in case they return",
            "Have a recent photo ready for the officers",
        ),
        units=(POLICE,),
    ),
    IncidentType(
        name="theft_report",
        priority=4,
        summary="Theft report, no suspect present",
        typical="something stolen earlier, car broken into overnight, no suspect present",
        questions=(
            "When did you last see the items, and when did you notice they were gone?",
            "Is anyone still there or in sight?",
            "Are there cameras or witnesses?",
        ),
        instructions=(
            "Do not touch anything the thief may have handled",
            "Make a list of what is missing, with serial numbers if you have them",
        ),
        units=(POLICE,),
    ),
    IncidentType(
        name="noise_complaint",
        priority=5,
        summary="Noise complaint",
        typical="loud music, party, barking dog",
        questions=(
            "What is the address of the noise?",
            "How long has it been going on?",
        ),
        instructions=("Do not confront the neighbours yourself",),
        units=(POLICE,),
    ),
    IncidentType(
        name="unknown",
        priority=3,
        summary="Not enough information yet",
        typical="nothing above fits, or too little has been said yet",
        questions=(
            "What is the address of the emergency?",
            "Tell me exactly what happened.",
            "Is anyone hurt, and are they awake and breathing?",
        ),
        instructions=("Stay on the line and stay safe",),
        units=(),
    ),
)

BY_NAME: Final[dict[str, IncidentType]] = {incident.name: incident for incident in INCIDENT_TYPES}
#: The type of a call that nothing in the table fits yet.
UNKNOWN: Final = BY_NAME["unknown"]
