"""How callers describe the patient's state: the rules agent's table of signs, as data.

Each sign is a list of patterns over lower-cased caller speech, written for
how people speak under stress (and how speech-to-text mishears them), never
for the wording of particular calls. A sign's patterns may contain their own
negation ("won't wake up"); negation *around* a sign is found by
:mod:`negation`. Signs are tried in this table's order, and a span of speech
counts for the first sign that matches it.

The dispatcher's questions are in :data:`QUESTIONS`, and short answers in
:data:`ANSWERS`, so that "Is he breathing?" / "no" is read as "not breathing".
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final

#: "breathing" as callers say it and speech-to-text writes it.
BREATH: Final = (
    r"(?:breath(?:e|es|ed|ing|in'?|s)?|breeding|breathin|breating|breething|breth\w*|breeth\w*)"
)
#: The patient, as callers refer to a person (never "my battery", "the car").
PERSON: Final = (
    r"(?:he|she|they|him|her|baby|(?:my|our|his|her|the|this|a) (?:husband|wife|mom|mum|mother|dad|father|"
    r"son|daughter|baby|brother|sister|grandma|grandmother|grandpa|grandfather|granddad|nan|friend|"
    r"boyfriend|girlfriend|partner|uncle|aunt|cousin|neighbou?r|roommate|kid|child|man|woman|guy|"
    r"lady|patient|boy|girl|person|coworker|co-worker|customer|resident|client|infant|toddler))"
)
_IS: Final = r"(?:'s|s|'re| is| are| was| were)?"
NOT: Final = (
    r"(?:not|isn't|isnt|is not|ain't|aint|no|wasn't|not really|doesn't|doesnt|don't|didn't|no more|"
    r"stop(?:ped)?|quit|no longer|never)"
)


class Sign(Enum):
    """What a span of the caller's speech says about the patient."""

    NO_PULSE = "no pulse"
    CPR = "cpr under way"
    DEAD = "obviously dead"
    NOT_BREATHING = "not breathing"
    AGONAL = "breathing abnormally"
    DIFFICULT = "struggling to breathe"
    CYANOSIS = "blue or grey colour"
    BREATHING_NORMALLY = "breathing normally"
    BREATHING = "breathing"
    UNRESPONSIVE = "not conscious"
    COLLAPSED = "collapsed"
    RESPONSIVE = "conscious"


SIGNS: Final[dict[Sign, tuple[str, ...]]] = {
    Sign.NO_PULSE: (
        r"no (?:\w+ )?pulse|pulseless|(?:can't|cannot|can not|couldn't|don't|do not) (?:find|feel|get) (?:a |his |her |any |the )?(?:\w+ )?(?:pulse|heart ?beat)",
        r"no heart ?beat|heart (?:has |is )?stopped|heart (?:isn't|is not|not) beating|cardiac arrest|flat ?lin\w*",
    ),
    Sign.CPR: (
        r"(?:doing|started|starting|giving|do|did|performing|trying) (?:him |her |them )?(?:cpr|c p r|chest compressions|compressions|mouth to mouth)",
        r"pumping (?:on )?(?:his|her|the) chest|(?:i'm|i am|we're|we are) (?:doing )?(?:cpr|compressions)|cpr",
    ),
    Sign.DEAD: (
        rf"{PERSON}{_IS} (?:dead|deceased)\b|(?:cold|stiff) and (?:stiff|cold|blue|grey|gray)|rigor|(?:not|isn't) alive",
        r"(?:already |been )?dead for|passed away|(?:he|she) died|no life in (?:him|her)|body is (?:cold|stiff)",
    ),
    Sign.AGONAL: (
        r"snor(?:e|es|ed|ing)|gurgl\w*|rattl\w*|gasp(?:s|ed|ing)?(?! for (?:air|breath))|agonal|death rattle",
        rf"(?:weird|funny|strange|odd|noisy|shallow|slow|irregular|little|tiny|short) (?:\w+ )?{BREATH}|{BREATH} (?:is |are |sounds? |looks? )?(?:weird|funny|strange|odd|shallow|wrong|off)",
        rf"{NOT} {BREATH} (?:right|properly|normal(?:ly)?|well|good|like normal)|barely {BREATH}|hardly {BREATH}",
        r"every (?:few|couple|couple of|so many|\d+|ten|five|twenty|thirty) (?:seconds|secs)|once in a while|(?:like )?a fish out of water|(?:mouth|jaw) (?:is )?(?:opening and closing|moving)",
        r"(?:making|made|makes) (?:a |these |this |some |weird |funny |strange |gurgling |snoring |choking )*(?:noises?|sounds?)",
    ),
    Sign.NOT_BREATHING: (
        rf"{NOT} {BREATH}|{BREATH} (?:has |is )?stopped|no (?:air|breath) (?:coming|going)|{NOT}{_IS} (?:taking|getting) (?:a |any )?{BREATH}",
        rf"{PERSON}{_IS} no {BREATH}|without {BREATH}|can't (?:see|hear|feel) (?:him |her |them |any )?{BREATH}|apn(?:o)?eic|respiratory arrest",
    ),
    Sign.DIFFICULT: (
        r"(?:can't|cannot|can not|cant|couldn't) (?:take|get|pull|draw|suck) (?:the |any |enough |in )?air(?: in)?|(?:push|pushing|fighting|struggling|working|straining) (?:hard )?for (?:air|breath)",
        r"whistl\w*(?: sound| noise)?|huffing and puffing|(?:she's|he's|is|i'm) puffing|can't get air in",
        rf"(?:can't|cannot|can not|cant|could not|couldn't|unable to) (?:\w+ )?(?:{BREATH}|catch (?:his |her |my |their |a )?{BREATH}|get (?:his |her |my |their |any |enough |a )?(?:air|{BREATH}))",
        rf"short(?:ness)? (?:of|a) {BREATH}|out of {BREATH}|trouble {BREATH}|difficult(?:y)? {BREATH}|hard (?:time )?(?:to )?{BREATH}|struggl\w* (?:to {BREATH}|for (?:air|{BREATH}))",
        rf"gasping for (?:air|{BREATH})|wheez\w*|asthma|inhaler|nebuli[sz]er|puffer|{BREATH} (?:is |are )?(?:really |very |so )?(?:bad|hard|heavy|fast|rapid|quick|labou?red|tight)",
        r"can't (?:finish|say) (?:a |his |her |my |full |whole )?(?:sentence|words?)|(?:throat|chest) (?:is |feels )?(?:closing|tight)|suffocat\w*|air hungry",
    ),
    Sign.CYANOSIS: (
        r"(?:turn(?:ing|ed|s)?|go(?:ing|ne)|went|is|are|look(?:s|ing)?|getting|all) (?:\w+ )?(?:blue|purple|grey|gray|ashen)(?!tooth| jay| car| shirt| jacket)",
        r"(?:lips|face|skin|fingers|mouth) (?:is |are |look |looks |gone |went |turning |turned )?(?:\w+ )?(?:blue|purple|grey|gray)",
        r"(?:blue|purple|grey|gray) (?:lips|face|skin|fingers)",
    ),
    Sign.BREATHING_NORMALLY: (
        rf"{BREATH} (?:fine|okay|ok|normal(?:ly)?|good|alright|all right|steady|regular(?:ly)?|evenly|properly|easy)\b",
    ),
    Sign.BREATHING: (
        rf"{BREATH}|(?:chest|stomach|belly|tummy)(?: is| isn't| is not| not| doesn't| does not| don't|'s not|'s)? (?:moving|going up and down|going up|rising|rise|move)(?! fast)",
        r"(?:(?:it|she|he)(?:'s| is|'s not| is not| isn't) )?going up and down",
    ),
    Sign.UNRESPONSIVE: (
        r"un ?conscious|un ?responsive|passed out|pass(?:es|ing) out|fainted|faint(?:ing)?|blacked out|black(?:ing)? out|knocked out|out cold|comatose",
        r"(?:won't|will not|wont|can't|cannot|can not|couldn't|doesn't|does not|isn't|is not|not|no|never) (?:\w+ )?(?:wake|waking|woke|respond\w*|answer\w*|react\w*|open (?:his|her|their) eyes|mov(?:e|es|ing))(?! (?:his |her |my |the |their )?(?:phone|cell|texts?|calls?|door|messages|emails?))",
        r"(?:limp|floppy|lifeless|like a rag doll|unrousable|not there|non ?responsive|eyes (?:are )?(?:rolled|rolling) (?:back|up)|staring at nothing)",
        r"semi-?conscious|barely conscious|in and out of (?:it|consciousness)|no (?:response|reaction)|(?:he|she) no wake|nobody home|(?:can't|cannot|couldn't) get (?:him|her|them) (?:up|to wake|to respond|to answer)|won't get up",
    ),
    Sign.COLLAPSED: (
        r"collaps\w*|keel(?:ed)? over|(?:just )?(?:dropped|went down|fell (?:down|over)) (?:on the (?:floor|ground)|to the (?:floor|ground)|like a|and (?:isn't|is not|not|won't|didn't))",
        r"slumped|lying (?:there|on the (?:floor|ground)) (?:and )?(?:not|isn't|won't)|found (?:him|her|them) (?:on the (?:floor|ground)|lying|down|in the)",
    ),
    Sign.RESPONSIVE: (
        r"(?:is|'s|are|she's|he's|they're|still|now|fully|wide) (?:\w+ )?(?:awake|conscious|alert|responsive|responding)",
        rf"{PERSON}(?:'s| is) (?:talking|speaking|answering|crying|moaning|groaning|complaining)(?: to (?:me|us))?",
        r"(?:came|coming) (?:to|around|round)|woke (?:up|back up)|opened (?:his|her|their) eyes|can talk|is talking|knows (?:who|where|what)",
    ),
}


class Topic(Enum):
    """What a dispatcher's question is about."""

    DIFFICULTY = "trouble breathing"
    #: Asked the negative way round: a "no" means all is well.
    NEGATED = "asked negatively"
    BREATHING = "breathing"
    BREATHING_NORMALLY = "breathing normally"
    CONSCIOUS = "conscious"
    PULSE = "pulse"


QUESTIONS: Final[dict[Topic, str]] = {
    Topic.DIFFICULTY: rf"(?:trouble|difficulty|problems?|hard time|struggling) {BREATH}|hard to {BREATH}|short of {BREATH}|catch (?:his |her |your |their )?{BREATH}|{BREATH} (?:okay|ok|alright|all right) for you",
    Topic.BREATHING_NORMALLY: rf"{BREATH} (?:normal(?:ly)?|okay|ok|right|properly|regular(?:ly)?)|normal {BREATH}",
    Topic.BREATHING: rf"{BREATH}|(?:chest|stomach|tummy|belly) (?:rise|rising|move|moving|going up)|going up and down",
    Topic.CONSCIOUS: (
        r"awake|conscious|responsive|respond\w*|wake (?:him|her|them)? ?up|answer(?:ing)? you|"
        r"talk(?:ing)? to you|eyes open|alert|react\w*|open (?:his|her|their) eyes|(?:he|she|they) hear you"
    ),
    Topic.PULSE: r"pulse|heart ?beat",
}


class Answer(Enum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"
    PARTLY = "partly"


#: How a short answer starts; tried in this order (a "no" before a "he's").
ANSWERS: Final[dict[Answer, str]] = {
    Answer.PARTLY: r"(?:kind of|kinda|sort of|sorta|barely|a little|a bit|hardly|not really|just barely|only a little|sometimes|on and off|once in a while)",
    Answer.NO: (
        r"(?:no|nope|nah|noo+|negative|not at all|i don't think so|i dont think so|don't think so|"
        r"i don't think (?:he|she|they) (?:is|are|does|do)|"
        r"he isn't|she isn't|he's not|she's not|he is not|she is not|they're not|isn't|not that i can (?:see|tell)|never)"
    ),
    Answer.UNSURE: r"(?:i (?:don't|do not|dont) know|i'm not sure|im not sure|not sure|i can't tell|i cant tell|can't tell|i don't see|maybe|i think not|i couldn't tell|hard to (?:say|tell))",
    Answer.YES: r"(?:yes|yeah|yea|yep|yup|ya|uh[- ]?huh|mm[- ]?hmm|i think so|he is|she is|they are|sure|correct|right|affirmative|ok yes|yes yes)",
}

#: The caller describing their own body: they are the patient, and awake.
SELF_REPORT: Final = (
    r"i can't (?:breathe|breath|swallow|catch my breath|stop (?:shaking|bleeding))|"
    r"i (?:feel|felt) (?:sick|dizzy|faint|weak|awful|terrible|like i'm|funny)|"
    r"i (?:have|'ve got|got) (?:a |this )?(?:pain|headache|chest pain|tight chest)|i think i'm (?:having|going to)|"
    r"i'm (?:having|feeling|getting|bleeding|dizzy|choking|short)|my (?:chest|throat|face|tongue|lips|"
    r"heart|head|stomach|belly|arm|leg|eyes?|skin|body|hands?|neck|mouth|back)"
)

# -- what raises the priority: a child, several victims, someone trapped ------

#: Ages under this are children.
CHILD_UNDER: Final = 16
_NUMBER_WORDS: Final = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
#: An age as said: "7", "seven", "eighteen months", "sixty-eight".
AGE: Final = (
    r"\d{1,3}(?:\s*(?:months?|weeks?|days?))?|(?:"
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")(?:\s*(?:months?|weeks?|days?))?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ]\w+)?"
)


def age_in_years(said: str) -> float:
    """The age a caller said, in years (months and weeks count as under one)."""
    if re.search(r"months?|weeks?|days?", said):
        return 0.5
    number = re.match(r"\d+", said)
    if number:
        return float(number.group(0))
    return float(_NUMBER_WORDS.get(said.split("-")[0].split()[0], 99))


CHILD: Final = (
    r"baby|babies|infant|toddler|newborn|little (?:boy|girl|one|kid)|(?:my|our|a|the) (?:child|kid|kids|children)|"
    r"(?:[1-9]|1[0-5]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen)[- ]"
    r"(?:years?|yrs?|months?|weeks?)[- ]old|(?:he|she)(?:'s| is) (?:only )?(?:[1-9]|1[0-5]|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen)\b(?! (?:minutes|hours|o'clock|floors?|blocks?|cars?|feet|foot|meters|metres))|"
    r"kindergarten|elementary|primary school|(?:months|weeks) old"
)
_PEOPLE: Final = r"(?:people|persons|men|women|guys|lads|blokes|fellas|youths|kids|children|friends|victims|patients|passengers|workers|students|boys|girls|teenagers|teens|adults|residents|players|swimmers|customers|diners|shoppers|guests|staff|employees|spectators|runners|riders|pupils|campers|tenants|neighbou?rs)"
_MANY: Final = r"(?:two|three|four|five|six|seven|eight|nine|ten|several|multiple|many|a few|a bunch of|lots of|a couple of|both|\d+)"
_HURT: Final = (
    r"(?:hurt|injured|bleeding|shot|stabbed|trapped|unconscious|down|sick|burned|burnt|on the (?:floor|ground)|"
    r"not breathing|nodding|passed out|fell|took (?:something|some|pills|drugs|too much)|overdosed|"
    r"throwing up|vomiting|coughing|feel sick|thrown out|lying|"
    r"(?:got|were|been|are being|was) (?:just )?(?:jumped|beat up|beaten(?: up)?|attacked|kicked|mugged|stabbed|shot|hit|robbed))"
)
SEVERAL: Final = (
    rf"{_MANY} (?:of )?(?:them|my \w+|the \w+|these \w+|those \w+|{_PEOPLE})(?: are| were|'re)? (?:\w+ ){{0,3}}{_HURT}|"
    rf"{_MANY} (?:of )?(?:my |the |our )?(?:\w+ )?{_PEOPLE} (?:\w+ ){{0,4}}{_HURT}|"
    rf"(?:jumped|attacked|beat up|beating up|stabbed|shot|hit|ran over|struck|mowed down) (?:(?:me|us) and (?:my |our )?)?{_MANY} (?:\w+ )?{_PEOPLE}|"
    r"all (?:two|three|four|five|six|\d+) of (?:us|them)|"
    rf"(?:everyone|everybody|they're all|they are all|both of them|they're both|they are both) (?:is |are )?(?:\w+ )?{_HURT}|"
    r"(?:we|they)(?:'ve| have|'re| are)? all (?:\w+ ){0,2}(?:sick|dizzy|hurt|injured|headaches|throwing up|coughing|feel)|"
    r"more than one (?:person|victim)|(?:persons|victims|patients|casualties)|mass casualty"
)
#: Several people at a crash, a fire or a poisoning (not at a fight, where some are the attackers).
SEVERAL_AT_SCENE: Final = (
    rf"(?:there's|there are|there is|there were|yes|yeah)(?:,)? (?:like |about |maybe |at least |a )?{_MANY} (?:of )?{_PEOPLE}|"
    rf"(?:some|a couple|several|all|most) of them (?:are |were |got )?(?:\w+ )?(?:{_HURT}|screaming|moaning)"
)
TRAPPED: Final = (
    r"(?:came down|fell|collapsed) on (?:top of )?(?:him|her|them|(?:his|her|their) (?:legs?|chest|back|head))|"
    r"(?:can't|cannot|couldn't|can not) (?:lift|move|get|pull) (?:it|the \w+|that) off|under (?:the|a) (?:car|bookcase|wall|rubble|beam|tree|shelf|wardrobe|truck|machine)|"
    r"(?:can't|cannot|couldn't) get (?:his|her|their) (?:seat ?belt|belt) (?:off|undone)|(?:it's|door's|door is|the door's) (?:stuck|jammed)|"
    r"trapped|pinned|stuck (?:inside|in (?:the|his|her|their) (?:car|vehicle|truck|room|house|building))|"
    r"(?:can't|cannot|couldn't|can not) get (?:him |her |them |it |the door )?(?:out|open)|(?:is |are )?still (?:inside|in there|in the car)|"
    r"doors? (?:won't|will not|can't|doesn't|does not) open|(?:banging|pounding|hitting) on the (?:window|door|glass)|"
    r"(?:there's|there is) (?:a |someone |somebody |a man |a woman |a person |people |a kid |a child )?(?:\w+ )?(?:still )?(?:inside|in the car|in there)"
)
