"""How callers speak of each incident type: the rules agent's patterns.

Patterns describe how callers speak about an emergency in general (synonyms,
paraphrases, plain speech), never the wording of particular calls. The types
themselves and their advice are the table in
:mod:`~dispatch_tui.server.agents.incident_table`.
"""

from __future__ import annotations

import re
from typing import Final


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(rf"\b(?:{p})\b") for p in patterns)


#: The patterns of every type but ``unknown``; any one found says the type.
PATTERNS: Final[dict[str, tuple[re.Pattern[str], ...]]] = {
    "cardiac_arrest": _compile(
        r"(?:not|isn't|is not|wasn't|ain't|stopped|no longer|doesn't seem to be|"
        r"can't tell if (?:he|she|they)(?:'s| is| are) )\s*breathing",
        r"(?:isn't|is not|not|stopped) breath(?:ing|in)",
        r"no pulse|can't find (?:a|his|her) pulse|no heartbeat|heart (?:has )?stopped",
        r"turn(?:ing|ed) (?:blue|purple|gray|grey)|(?:lips|face) (?:is |are )?(?:blue|purple)",
        r"gone (?:blue|grey|gray)|doing cpr|started cpr|start cpr|giving (?:him|her) cpr",
        r"(?:i think )?(?:he|she)(?:'s| is) dead|not breathing|no breathing|no breath",
        r"chest (?:is )?(?:not|no|isn't|doesn't) (?:mov\w*|go(?:ing)? up)",
        r"(?:agonal|gurgling|snoring sounds?|gasping)",
    ),
    "drowning": _compile(
        r"(?:bottom|floor) of the (?:deep end|shallow end|pool|tub|bath|lake|pond|river)|on the bottom of|cough\w* up (?:a lot of |lots of |some )?water",
        r"(?:went|fell|gone|going|broke) through the ice|under the ice",
        r"(?:pool|water|lake|river|pond|bath|tub|sea|surf|quarry|canal)\b(?:[\w',]+ ){0,12}(?:pulled|dragged|got|fished|lifted) (?:him|her|them|my \w+) out",
        r"(?:hasn't|has not|didn't|did not|never|not|haven't|hasnt) (?:come|came|coming) (?:back )?up|not (?:resurfac\w*|surfac\w*)|went under|go under|gone under",
        r"(?:kayak|canoe|boat|raft|dinghy|jet ?ski|paddle ?board) (?:just )?(?:is )?(?:flipped|flip|capsized|tipped|overturned|turned over|went over)|capsiz\w*",
        r"(?:went|fell|jumped|slipped|dove|dived|swept|got pulled) (?:in|into|off|under|out) (?:the |a )?(?:water|river|lake|pool|pond|quarry|canal|creek|sea|ocean|surf|current|waves|bridge|pier|dock)",
        r"(?:pulled|dragged|got|fished) (?:him|her|them|my \w+) (?:out )?(?:of|from) (?:the )?(?:water|river|lake|pool|pond|quarry|canal|sea|ocean|bath|tub)",
        r"(?:bottom|floor) of the (?:pool|tub|bath|lake|pond)|(?:floating|face ?down) in|swept (?:away|out|under)|rip ?current|riptide|caught in the current|(?:can't|cannot) swim",
        r"drown(?:ing|ed|s)?(?! in (?:air|her own|his own|phlegm|mucus|fluid|work|paperwork))|went under|go(?:ne|es)? under|under ?water|not coming (?:back )?up",
        r"pulled (?:him|her|them|it) (?:out )?(?:of|from) the (?:water|pool|lake|river|pond|sea)",
        r"face ?down in the (?:water|pool|lake|river|pond|bath|tub)",
        r"fell (?:in|into) the (?:water|pool|lake|river|pond)",
    ),
    "choking": _compile(
        r"(?:got|has|have|'s got) (?:a |an |some |something )?(?:[\w']+ ){0,2}stuck(?! in (?:the|a) (?:door|car|lift|elevator|mud))",
        r"cho+k\w*(?! (?:me|her|him|them|us)\b)|chalk(?:ing|ed)|chocking|choaking|chucking on",
        r"(?:something|food|meat|a piece|a bone|a grape|a sweet|a candy|it)(?:'s| is| got)? (?:\w+ )?(?:stuck|caught|lodged) (?:in )?(?:his|her|my|their|the)? ?(?:throat|windpipe|airway)",
        r"(?:grabbing|clawing|pulling|scratching) at (?:his|her|my|their) (?:neck|throat)|squeak\w* (?:noise|sound)|(?:grabbing|holding|clutching|pointing (?:at|to)|grabbing at|clawing at) (?:his|her|my|their) throat|hands? (?:on|at|around) (?:his|her) throat",
        r"(?:went|gone) down the wrong (?:way|pipe)|(?:piece of|bit of|chunk of) (?:meat|steak|food|apple|hot dog|sausage|candy|sweet|bread|chicken)|(?:on|inhaled) (?:a|an|the|some|his|her) (?:grape|peanut|marble|coin|button|hard candy|lolly|sweet|nut|bead|toy|battery)",
        r"heimlich|back blows|abdominal thrusts",
        r"chok(?:ing|ed|es)(?! (?:me|her|him|them|us)\b)",
        r"(?:something|food|\w+) (?:is )?(?:stuck|lodged) in (?:his|her|my|their|the) throat",
        r"clutching (?:his|her|my|their) throat|heimlich|swallowed a (?:coin|toy|grape|bone)",
    ),
    "structure_fire": _compile(
        r"fire on the (?:[\w-]+ )?(?:floor|storey|story|level)|(?:floor|flat|apartment|unit|tower|block)(?:'s| is) (?:on fire|burning)|fire,? fire\b|(?:door|hall|hallway|stairs|stairwell|corridor|landing) (?:is )?(?:full of )?smoke",
        r"(?:house|home|apartment|building|kitchen|garage|roof|basement|attic|barn|shed|"
        r"store|restaurant|school|upstairs|downstairs|bedroom|room|flat|trailer|unit)s? "
        r"(?:is |are |was )?(?:on fire|burning|in flames|caught fire|went up)",
        r"fire in (?:the|my|our|a|his|her) (?:house|home|apartment|building|kitchen|garage|"
        r"basement|attic|bedroom|room|unit|hallway)",
        r"smoke (?:is )?(?:coming|pouring|billowing|pouring out|comin) (?:out|from)",
        r"flames (?:are )?(?:coming|shooting) (?:out|from)|(?:house|kitchen|grease|building) fire",
        r"(?:there's|there is|see|seeing) (?:a )?(?:fire|flames|lots of smoke)",
        r"(?<!he's )(?<!she's )(?<!he is )(?<!she is )(?<!you're )on fire(?! tonight| at karaoke| today)|caught fire|catching fire|everything is burning",
    ),
    "shooting_stabbing": _compile(
        r"(?:cut|slashed|sliced|stabbed|went for|came at) (?:me|him|her|them|my \w+|his \w+|her \w+) with (?:a |the |his |her )?(?:kitchen )?(?:knife|blade|machete|box ?cutter|razor)",
        r"(?:heard|hear) (?:like |some |a few |a couple of |these |loud )?(?:pops|bangs|popping|banging)|(?:pops|bangs),? (?:like |sounded like )(?:fireworks|gunshots|a gun|shots)|(?:got|been|was) hit (?:in the (?:leg|arm|chest|stomach|back|head|neck)|by a bullet)",
        r"came (?:at|after) (?:me|him|her|them|us) with (?:a |his |her )?(?:kitchen )?(?:knife|blade|machete|gun|pistol)|(?:knife|blade) (?:went|goes|go|is) (?:in|into)|(?:cut|slashed|sliced) (?:me|him|her|them) with (?:a |his |her )?(?:kitchen )?(?:knife|blade|machete)",
        r"(?:been|got|was|were|get|getting|is|are|he's|she's|i'm|i've been) (?:just )?shot",
        r"shot (?:him|her|them|me|us|at|my|someone|somebody|a \w+|the \w+)",
        r"gun ?shots?|gunfire|shots? fired|shooting|shooter|heard (?:shots|pops|bangs)",
        r"stab(?:bed|bing|s)?|knifed|knife wound|bullet wound|(?:got|been) cut with a knife",
    ),
    "overdose_poisoning": _compile(
        r"(?:got into|found|ate|swallowed|chewed|took) (?:some of |a few of |one of |all of )?(?:my|his|her|the|their) (?:[\w']+ ){0,3}(?:pills?|tablets?|meds|medicines?|medications?|vitamins|gummies)",
        r"swallowed (?:a|an|the|some|two|three) (?:little |small |round |button |coin )*(?:batteries|battery|magnets?|coin cells?)",
        r"needle (?:still )?(?:in|sticking out of) (?:his|her|their) (?:arm|leg|hand|neck)|(?:with|has|had) a needle",
        r"(?:got into|found|ate|swallowed|chewed|drank|drunk|drink|drinks|took) (?:some of |a few of |one of |all of )?(?:my|his|her|the|grandma's|grandpa's|mum's|mom's|dad's|nan's) (?:[\w']+ ){0,2}(?:pills?|tablets?|meds|medicines?|medications?|vitamins|gummies|pill (?:organi[sz]er|box|bottle))",
        r"(?:drink|drinks|drank) (?:the |some |a )?(?:\w+ )?(?:bleach|antifreeze|poison|cleaner|chemicals?|detergent|degreaser|solvent|fuel|petrol|gasoline|kerosene|acid|lye)",
        r"(?:drank|drunk|swallowed|ate|drinking|swallowing|got into|sprayed|inhaled|sniffed|huffed) (?:[\w']+ ){0,3}(?:degreaser|solvent|fuel|petrol|gasoline|kerosene|turpentine|white spirit|washer fluid|windscreen wash|weedkiller|something (?:poisonous|toxic)|liquid|acid|alkali|oven cleaner|mouthwash|vodka and pills|a whole bottle)",
        r"over (?:those|does|dose)|o\.? ?d(?:'d|ed)?\b",
        r"(?:took|taken|take|swallowed|ate|had|downed) (?:way )?(?:too many|too much|a lot of|lots of|loads of|a bunch of|a handful of|handfuls of|all (?:of )?(?:his |her |my |the |their )?|the whole|a whole|an entire|\d+|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|forty|fifty|a few|several|extra|double|more) (?:[\w']+ ){0,3}(?:pills?|tablets?|doses?|meds|medications?|medicines?|bottle|packet|sleeping pills|painkillers|antidepressants|benzos|sedatives|capsules)",
        r"double dose|whole (?:bottle|packet|box|pack)|empty (?:pill )?(?:bottles?|packets?)|(?:pills?|tablets?|capsules) (?:everywhere|all over|missing|gone)",
        r"shot up|shooting up|using (?:again|drugs)|needle (?:in|next to|beside)|syringe|(?:smoked|snorted|injected|took) (?:some |something|crack|meth|coke|cocaine|ecstasy|molly|ketamine|spice)|pinpoint pupils",
        r"(?:drank|swallowed|drinking|ate|got into|sprayed|inhaled) (?:[\w']+ ){0,3}(?:bleach|antifreeze|poison|cleaner|cleaning|chemicals?|detergent|pods?|lye|pesticide|weed ?killer|paint thinner|drain|methanol|battery)",
        r"over ?dos(?:e|ed|ing)|o\.?d\.?'?d|od'?ing",
        r"took (?:like |about |maybe |almost |over )?(?:a lot|too many|too much|a bunch|a whole bottle|"
        r"the whole bottle|all|a handful|\d+|two|three|four|five|six|seven|eight|nine|ten|twenty|"
        r"several|a few extra|double)\b(?: [\w']+){0,4}? (?:pills|tablets|meds|medications?|medicines?|"
        r"oxys?|xanax|percocets?|vicodin|tylenol|ibuprofen|aspirin|gummies|capsules)",
        r"(?:drank|swallowed|ate|drinking|swallowing|got into) (?:some |a bottle of |the |a |some of "
        r"the |a bunch of )?(?:\w+ )?(?:bleach|antifreeze|poison|cleaner|chemicals?|detergent|pods?|lye|"
        r"pesticide|weed killer|rat poison|gasoline|lighter fluid|pills|tablets|medicine)",
        r"heroin|fentanyl|opioids?|oxy(?:contin|codone|s)?|narcan|naloxone|poison(?:ed|ing)?|"
        r"too many (?:of )?(?:his |her |my |the )?(?:\w+ )?pills",
    ),
    "childbirth": _compile(
        r"baby (?:is |'s )?(?:come|coming|comes|came)(?: now| out| fast)?|water (?:is |has |'s )?(?:come|came|coming|broke|broken|break)(?: out)?|(?:pains?|contractions?) (?:is |are )?(?:every|each) (?:\w+ )?minutes?|weeks pregnant|pregnant and",
        r"in labou?r|contractions?|(?:the )?baby(?:'s| is) coming|water(?:s)? (?:just )?broke",
        r"crowning|giving birth|having (?:the|a|her|my|our) baby|about to give birth|deliver(?:ing)? the baby",
    ),
    "stroke": _compile(
        r"(?:face|mouth|smile|lip|eye|cheek)s? (?:is |are |has |looks )?(?:\w+ )?(?:gone down|dropped|drooping|droops|sagging|saggy|crooked|lopsided|fallen|slack|uneven|twisted|pulled)",
        r"one side (?:of (?:his|her|the|my) (?:face|body|mouth) )?(?:has |is |'s )?(?:gone down|dropped|drooping|weak|numb|slack|not working|won't move|dead|heavy|limp)",
        r"(?:words|speech|talking|voice) (?:are |is |keep |keeps )?(?:coming out )?(?:all )?(?:wrong|jumbled|garbled|slurred|slurry|funny|weird|mixed up|nonsense|strange)",
        r"not making (?:any )?sense|talking (?:like (?:she|he)(?:'s| is) drunk|gibberish|nonsense|funny|weird)|can't get (?:his|her|the) words out|(?:can't|cannot) (?:find|say) (?:the |his |her )?words",
        r"(?:arm|leg|hand|side) (?:just )?(?:won't|will not|doesn't|can't|cannot|isn't) (?:go up|lift|move|work|hold|stay up)|(?:arm|hand) (?:just )?(?:drops|falls|dropped|fell) (?:down)?",
        r"(?:left|right) (?:arm|leg|side|hand|foot)s? (?:and (?:leg|arm|hand|foot) )?(?:is |are |feels |went |has gone )?(?:weak|numb|heavy|dead|limp|useless|floppy|tingly)",
        r"(?:can't|cannot|can not) (?:lift|raise|move|feel) (?:his|her|my|the|one|either) (?:\w+ )?(?:arm|leg|hand|side)",
        r"stroke|face (?:is |looks )?(?:droop(?:ing|y|s)?|drooped|crooked|lopsided)|droop(?:ing|y)",
        r"slurr(?:ing|ed|y)|can't (?:talk|speak) (?:right|properly|clearly)|words (?:are )?(?:all )?"
        r"(?:jumbled|wrong|garbled)",
        r"can't (?:move|lift|feel|use) (?:his|her|my) (?:left|right) (?:arm|leg|side|hand)",
        r"(?:weak|numb|limp|dead)(?:ness)? (?:on|down) (?:one|the left|the right|his left|her left|"
        r"his right|her right|my left|my right) side|one side (?:is )?(?:weak|numb|limp|drooping)",
    ),
    "chest_pain": _compile(
        r"(?:chest|chess)(?: is| dey| has been)? (?:paining|aching|hurting|burning|tight|pressing)(?: me)?|(?:something|a weight|a stone) (?:heavy )?(?:is )?(?:sitting|pressing) on (?:my|his|her) chest",
        r"(?:chest|chess)\W+(?:it's |it is |is )?(?:crushing|squeezing|tight|heavy|burning|killing me|hurts|exploding)",
        r"(?:goes|going|spreads?|spreading|moves?|moving|radiat\w*|shoots?|shooting|went) (?:up |down )?(?:into |to |down |up )?(?:my|his|her|the) (?:left )?(?:jaw|arm|shoulder)(?! and (?:leg|foot))",
        r"(?:heavy|tight|squeezing|crushing) (?:thing|weight|feeling|pressure) (?:sitting )?(?:on|in) (?:me|my chest|his chest|her chest|the middle)",
        r"(?:pain|pressure|tightness|heaviness|squeezing|crushing|burning|ache|aching) (?:in|on|across|inside) (?:the )?(?:chest|chess|ches)\b|pain (?:go|goes|going|went|moving|spreading) (?:to|into|down) (?:his |her |my |the )?(?:arm|jaw|shoulder|back)",
        r"like (?:an |a )?elephant (?:is )?(?:sitting|standing|on)",
        r"ches?s?t? ?(?:pains?|hurts?|hurting|pressure|tightness|is tight|feels tight|feels heavy|is heavy)",
        r"(?:pain|pressure|tightness|heaviness|squeezing|crushing|burning|ache|aching) (?:in|on|across|inside|around) (?:his|her|my|the) (?:chest|chess|ches)",
        r"(?:chest|chess) (?:feels|is|was) (?:like )?(?:heavy|tight|crushed|squeezed|an elephant|a stone|a weight|on fire|burning)|elephant (?:on|sitting on) (?:his|her|my) (?:chest|chess)",
        r"(?:hold|holds|holding|clutch|clutches|clutching|grabbing|rubbing) (?:his|her|my) (?:chest|chess)|pain (?:in|down|into) (?:his|her|my) (?:left )?(?:arm|jaw|shoulder)",
        r"chest (?:pain|pains|hurts|hurting|pressure|tightness|is tight|feels tight|feels heavy)",
        r"pain in (?:his|her|my|the) chest|(?:crushing|squeezing) (?:pain|feeling)",
        r"heart attack|pain (?:going |running |shooting )?down (?:his|her|my) (?:left )?arm",
    ),
    "allergic_reaction": _compile(
        r"(?:face|lips?|tongue|eyes?|throat|mouth|cheeks?) (?:is |are |'s |has |have |got |getting |gone )?(?:so |really |very |all )?(?:big|huge|puffed up|puffy|swollen|swelling|blowing up|fat|closing|tight)",
        r"(?:ate|eaten|had|tried|touched|took) (?:a |some |the )?(?:\w+ )?(?:shrimp|prawns?|shellfish|peanuts?|nuts?|sesame|egg|milk|new (?:medicine|medication|pill|antibiotic))",
        r"(?:red )?(?:spots|bumps|welts|blotches|rash) (?:all )?(?:over|on|everywhere)|itch(?:ing|y)? (?:all over|everywhere|very much|so much)|(?:throat|tongue) (?:is |feels |'s )?(?:tight|closing|thick)",
        r"allerg(?:ic|y|ies)|anaphyla\w*|epi ?pen|epinephrine|hives",
        r"(?:face|throat|lips|tongue|eyes?) (?:is |are )?(?:swelling|swollen|puffing|puffy)",
        r"swelling (?:up )?(?:of )?(?:his|her|my|the)? ?(?:face|throat|lips|tongue)",
        r"(?:bee|wasp|hornet) sting|stung by",
    ),
    "breathing_problem": _compile(
        r"can(?:'t|not) (?:breathe|breath|catch (?:his|her|my|their) breath|get (?:any )?air)",
        r"short(?:ness)? of breath|trouble breathing|hard (?:time )?(?:to )?breath(?:e|ing)",
        r"struggling (?:to breathe|for (?:air|breath))|gasping for (?:air|breath)",
        r"asthma|wheez(?:e|ing|y)|inhaler|nebuli[sz]er|breathing (?:is )?(?:really |very )?"
        r"(?:bad|hard|heavy|fast|funny|weird|rattly)",
    ),
    "severe_bleeding": _compile(
        r"(?:spraying|spurting|pumping|pouring|gushing|squirting|pissing) (?:out )?blood",
        r"(?:cut|chopped|sliced|sawed|sawn|took|ripped|torn) (?:[\w']+ ){0,3}(?:fingers?|thumb|hand|toes?|arm|leg|foot)s? (?:clean )?off|(?:fingers?|thumb|hand|toes?) (?:is |are |was |were )?(?:cut|chopped|sliced|hanging) off",
        r"soak(?:ed|ing) (?:through|in blood|with blood)|(?:towel|shirt|bandage|dressing|cloth)s? (?:is |are )?(?:soaked|full of blood|red|dripping)",
        r"blood (?:is )?(?:coming|pouring|spraying|squirting|gushing|pumping|spurting|dripping) (?:out|everywhere|from)|bleeding out|bled (?:a lot|everywhere)|arter(?:y|ial)",
        r"(?:deep|big|bad|huge|long|nasty|open) (?:cut|gash|wound|laceration)|(?:cut|sliced|slashed|gashed) (?:[\w']+ ){0,2}(?:open|deep|to the bone)",
        r"bleeding (?:a lot|heavily|badly|bad|everywhere|so much|really bad|like crazy|profusely)",
        r"(?:won't|will not|can't|doesn't|does not) stop bleeding|blood (?:is )?(?:everywhere|all over|"
        r"spurting|pouring|gushing)|(?:a )?lot of blood|so much blood|pool of blood",
        r"deep cut|(?:cut|sliced|slashed) (?:his|her|my|their) (?:arm|hand|leg|wrist|finger|neck|head)",
        r"gash|amputat\w*|cut (?:off|his finger|her finger)|severed|spurting|bleeding",
    ),
    "vehicle_fire": _compile(
        r"(?:flames|fire|smoke) (?:[\w']+ ){0,5}(?:hood|bonnet|engine|dashboard|tyres?|tires?|exhaust|under the car|under the truck|under the van)",
        r"(?:semi|truck|lorry|car|van|bus|vehicle|trailer|rig|tanker)(?:\s+[\w',]+){0,8}?\s+(?:flames|on fire|burning|fire's|fire is)",
        r"(?:car|truck|van|vehicle|bus|suv|engine|motorcycle|semi|pickup|rv|hood|cab)(?:s|'s)? "
        r"(?:is |was |are |just )?(?:on fire|burning|in flames|caught fire|smoking and)",
        r"(?:car|truck|van|vehicle|bus|suv|engine|motorcycle|semi|pickup) (?:[\w']+ ){0,3}on fire",
        r"(?:car|truck|van|vehicle|bus|engine) fire|flames (?:from|under|coming out of) the "
        r"(?:hood|engine|car|truck)",
    ),
    "traffic_collision": _compile(
        r"(?:went|ran|drove|veered|came|spun|slid|skidded|flew) off the road|(?:crashed|slammed|smashed|drove|ploughed|plowed|veered|spun|skidded|careered) (?:\w+ )?into (?:a|the) (?:tree|pole|lamppost|lamp post|wall|ditch|fence|barrier|guardrail|median|telegraph pole)",
        r"(?:car|van|truck|vehicle|ute|lorry|suv)(?:'s| is)? (?:on its (?:roof|side)|upside down|in the ditch|off the road|into a tree|into a pole|into the wall)|(?:come|came|fell|thrown) off (?:his|her|their|the) (?:motor ?bike|motorcycle|bike|scooter|moped|quad)|lost (?:it|control) on the (?:gravel|bend|corner|ice|road)",
        r"(?:car|truck|van|bus|driver|motorcycle|motorbike|suv|minivan|lorry|pickup|taxi|cab)s? (?:\w+ ){0,6}(?:hit|smashed into|crashed into|slammed into|ran into|rear-ended|t-boned|went into|ploughed into|plowed into) (?:a|an|the|my|another|his|her|their|us|me)\b",
        r"(?:ran|run|running|blew|went through) (?:the |a )?(?:red )?(?:light|stop sign)|pile-up|multi[- ]car|head[- ]on|airbags? (?:went off|deployed|popped)|(?:two|three|four|several) (?:cars|vehicles)\b",
        r"car (?:crash|accident|wreck)|crash(?:ed)?|collision|collided|wreck(?:ed)?|(?:cars?|vehicles?|trucks?|they|three|four|five|several)\s+(?:\w+\s+)?pil(?:ed|ing) up|pile-?up",
        r"(?:hit|struck|run over|ran over|knocked down) by (?:a|an|the|his|her) "
        r"(?:car|truck|bus|van|vehicle|suv|motorcycle|driver)",
        r"rear[- ]?ended|t[- ]?boned|rolled over|roll ?over|flipped (?:over|upside)|"
        r"motorcycle (?:down|crash|accident)|(?:car|truck) (?:hit|ran into|slammed into)",
        r"(?:car|traffic|auto|motorcycle|bike|bus|truck|bad) accident|there(?:'s| is| has) been an "
        r"accident|(?:was|been|were|got) in (?:an|a) (?:\w+ )?accident|accident (?:on|at) (?:the )?"
        r"(?:highway|interstate|freeway|road|intersection|corner)",
        r"(?:smashed|slammed|crashed|ran|plowed) into (?:each other|a (?:car|truck|tree|pole|wall)|the "
        r"(?:back|side) of)|(?:cars?|trucks?) (?:hit|smashed|crashed)",
        r"(?:motorcycle|bike|rider|biker|motorcyclist) (?:went down|wiped out|crashed|laid (?:it|the bike)"
        r" down)|(?:cars?|vehicles?|trucks?) (?:ran|went) (?:off the road|into a (?:ditch|tree|pole))",
    ),
    "gas_leak_hazmat": _compile(
        r"gas (?:smell|odou?r|leak\w*)|(?:cylinder|tank|bottle|pipe|line|main|hob|cooker|stove) (?:is |was |'s )?(?:leaking|hissing)|(?:leaking|escaping) gas",
        r"smell\w* (?:[\w']+ ){0,3}(?:of|like) (?:gas|natural gas|propane|rotten eggs|chemicals?|fumes|burning plastic)|(?:stinks|reeks) (?:of|like) (?:gas|rotten eggs|chemicals)|rotten eggs",
        r"smell(?:s|ing)? (?:of |like )?(?:gas|natural gas|propane|rotten eggs)|gas leak|leaking gas",
        r"carbon monoxide|co (?:alarm|detector)|chemical (?:spill|leak|smell)|spill(?:ed)? "
        r"(?:chemicals?|some kind of)|fumes|hazmat|ammonia|chlorine",
    ),
    "suicidal_person": _compile(
        r"(?:doesn't|does not|didn't|don't|do not|not) want to (?:live|be alive|be here|go on)(?: anymore| any more)?|(?:on|over) the (?:outside|wrong side) of the (?:railing|rail|fence|barrier|balcony)",
        r"(?:texting|texted|sent|saying|said|says|wrote|left) (?:me |us )?(?:a )?(?:goodbye|good ?bye|farewell|suicide note|note saying)",
        r"(?:has|got|with|bought|took) (?:a )?(?:rope|noose)|(?:going|gonna|wants|want|threatening|says (?:he|she)(?:'s| is) going) to (?:hang|shoot|kill|end|drown|overdose) (?:himself|herself|myself|themselves|it all|things|his life|her life)",
        r"(?:no|not any) (?:reason|point) (?:to|in) (?:live|living)|better off (?:dead|without (?:me|him|her))|don't want to (?:live|be alive|be here)",
        r"(?:jump|jumping) (?:off|from) (?:the |a )?(?:bridge|roof|building|overpass|ledge|balcony|car park|parking garage)|(?:standing|sitting|climbing) on (?:the )?(?:edge of (?:the |a )?(?:bridge|roof|building|balcony|cliff|overpass|car park)|ledge|railing|wrong side)",
        r"kill (?:myself|himself|herself|themselves)|suicid\w*|end (?:my|his|her|their) (?:own )?life",
        r"wants? to die|want(?:s)? to jump|going to jump|threatening to jump|about to jump",
        r"(?:hurt|cut|cutting|harm|harming) (?:myself|himself|herself|themselves)|self[- ]harm",
        r"(?:on|standing on) (?:the )?(?:ledge|edge of the (?:bridge|roof)|railing)",
    ),
    "domestic_violence": _compile(
        r"(?:it's|they're|they are) a couple|(?:he's|he is|she's|she is) (?:throwing|slamming|dragging|strangling|choking|pinning) (?:her|him) (?:against|into|onto|on|to|down)|(?:he's|he is|she's|she is) (?:yelling|screaming|saying|shouting) (?:that )?(?:he's|she's|he is|she is) (?:going to|gonna) kill (?:her|him)",
        r"(?:my |her |his |our )(?:daddy|mommy|mummy|mama|papa|stepmom|stepmum|stepdad) (?:[\w',]+ ){0,6}(?:hit|hits|hitting|beat|beats|beating|punch\w*|slap\w*|chok\w*|push\w*|shov\w*|kick\w*|hurting|strangl\w*) (?:me|him|her|us|my|our|them)\b",
        r"(?:him|he)(?:'s| is)? (?:hitting|beating|punching|slapping|choking|strangling|kicking|hurting) her\b",
        r"stop hitting me|(?:don't|stop) hurt(?:ing)? me|(?:he|she)(?:'s| is)? (?:going to|gonna) kill me|(?:the|a|young|older|married) couple (?:next door|upstairs|downstairs|across the (?:hall|street)|in (?:the )?(?:flat|apartment|unit|house) \w+)|(?:the |a )?couple (?:is |are )?(?:fighting|arguing|screaming|hitting)|(?:they|who) live together",
        r"(?:my |her |his |our )(?:husband|wife|boyfriend|girlfriend|partner|ex|ex-husband|ex-wife|ex-boyfriend|ex-girlfriend|spouse|stepdad|stepfather|stepmom|dad|father|son|brother|mom|mother|fianc[eé]e?|daughter|uncle) (?:[\w',]+ ){0,6}(?:hit|hits|hitting|beat|beats|beating|punch\w*|slap\w*|chok\w*|push\w*|shov\w*|kick\w*|threaten\w*|hurting|grab\w*|strangl\w*|dragg\w*|pinn\w*) (?:me|him|her|us|my|our|the kids|them|mom|mum|dad)\b",
        r"(?:he|she) (?:hit|hits|beat|punched|slapped|choked|pushed|shoved|kicked|strangled|threw|grabbed|dragged|attacked) (?:me|my (?:mom|mum|mother|dad|sister|brother|son|daughter|kids?)|us)",
        r"restraining order|protection order|protective order|domestic|(?:he|she)(?:'s| is) (?:drunk|high) and (?:hitting|violent|angry|throwing|smashing)",
        r"(?:my |her |his )(?:husband|wife|boyfriend|girlfriend|partner|ex|ex-husband|ex-wife|"
        r"ex-boyfriend|spouse|stepdad|stepfather|dad|father|son|brother|mom|mother|fianc[eé]e?)"
        r"(?:'s| is| was| keeps| has been| just)? ?(?:\w+ )?(?:hitting|hit|beating|beat|punch(?:ed|ing)|"
        r"slapp(?:ed|ing)|chok(?:ed|ing) me|push(?:ed|ing)|shov(?:ed|ing)|kick(?:ed|ing)|threaten(?:ed|ing)"
        r"|hurting|attacked|grabbed|throwing)",
        r"domestic|(?:he|she)(?:'s| is| was)? (?:hitting|beating|hurting|choking) (?:me|my mom|my mother|"
        r"her)",
        r"(?:hitting|beating|hurting|choking|attacking|punching|slapping|strangling|threatening) "
        r"(?:up )?(?:his|her|my|their) (?:girlfriend|boyfriend|wife|husband|partner|kids?|children|mom|"
        r"mother|dad|father|son|daughter|fianc[eé]e?|spouse)",
    ),
    "assault": _compile(
        r"(?:beating|hitting|punching|kicking|fighting|going at) (?:on )?each other|(?:getting|being|got) (?:kicked|punched|beaten|stomped|jumped|hit)|(?:on the (?:ground|floor)|down) (?:and they're |and they are )?(?:kicking|stomping|hitting|punching) (?:him|her|them)",
        r"beat(?:en|ing)? (?:him |her |me |them )?up|beating (?:on )?(?:him|her|me|them|someone|a guy)",
        r"attack(?:ed|ing)|assault(?:ed|ing)?|mugg(?:ed|ing)|jumped (?:him|her|me|them)",
        r"punch(?:ed|ing)|kick(?:ed|ing) (?:him|her|me|them)|fight(?:ing)?|brawl|fist ?fight",
        r"(?:hit|hitting) (?:him|her|me|them) (?:with|in)",
    ),
    "burglary_in_progress": _compile(
        r"trying to (?:come|get|break|force (?:their|his|her) way) (?:in|into|through)|(?:shaking|rattling|jiggling|trying) the (?:door ?)?(?:handle|knob|lock|window)|heard (?:the )?glass",
        r"(?:climbing|climbed|crawling|getting|breaking) (?:in|into|through) (?:his|her|their|the neighbou?r's) (?:\w+ )?(?:window|door)|(?:half ?way|halfway) (?:in|through the window)",
        r"(?:climbing|climbed|crawling|crawled|getting|got|sneaking|snuck) (?:in|into|through|in through) (?:the |a |my |our |their )?(?:\w+ )?(?:window|door|back door|house|basement|garage)",
        r"(?:one's|one is|they're|they are|he's|she's) (?:inside|in there|in the house) (?:now|right now)",
        r"(?:there's|there is|there are|i hear|i heard|i can hear) (?:someone|somebody|a man|a guy|a person|people|two (?:guys|men|people)|strangers?) (?:inside|downstairs|upstairs|walking around|moving around|trying|in (?:my|our|the|her|his) (?:house|home|apartment|flat|basement|garage|shed|kitchen|bedroom|living room|backyard|garden|place))",
        r"(?:someone|somebody|a man|a guy|a person|strangers?)(?:'s| is| are|'re) (?:downstairs|upstairs|inside|in the (?:house|kitchen|living room|garage|basement))",
        r"(?:going|looking|rummaging|rifling) through (?:my|our|the) (?:drawers|stuff|things|house|rooms|cupboards)",
        r"(?:trying|tried) to (?:open|force|pry|jimmy|kick in|kick down|get in|get through)|(?:prying|jimmying|forcing|kicking) (?:open |in )?(?:the|my|our) (?:door|window|lock|back door|front door)",
        r"(?:i'm|we're|i am|we are) hiding (?:in|under|from)|(?:someone|somebody) (?:is )?(?:in|inside) (?:my|our|the) house right now",
        r"(?:window|glass) (?:just )?(?:broke|breaking|smash\w*) (?:downstairs|in the|right now)|heard (?:glass|the window) (?:break|smash)",
        r"(?:breaking|broke|break) (?:in|into) (?:my|the|our)?\s*(?:house|home|apartment|door|window|"
        r"place)? ?(?:right )?now|(?:is |are |someone's |somebody's )?breaking in|trying to (?:get|break) in",
        r"(?:someone|somebody|a man|a guy|people|strangers?)(?:'s| is| are)? (?:in|inside) (?:my|the|our)"
        r" (?:house|home|apartment|basement|garage|place)",
        r"intruders?|burglar(?:s)?|prowler|hear(?:d)? (?:someone|somebody) (?:downstairs|inside|in the)",
    ),
    "fall_injury": _compile(
        r"(?:ladder|chair|stool|scaffold\w*|step ?ladder)\b(?:[\w',]+ ){0,5}(?:went out|gave way|slipped|collapsed|tipped|broke|went over)|(?:came|come|fell|tumbled|slipped) (?:off|down|from) (?:the|a|his|her|my) (?:ladder|roof|stairs|steps|chair|stool|horse|scaffold\w*|bed|bunk)|went out from under",
        r"(?:ankle|leg|wrist|arm|knee|foot|hip)(?:'s| is)? (?:all )?(?:swelled up|swollen|turned funny|facing the wrong way|mangled|out of place|sticking out)",
        r"(?:is |has |he |she |i )(?:fall|falled|fallen)|fall (?:from|off|down)|fell (?:from|off|down|over|on|in|out)|took a (?:tumble|spill|fall)|tumbled",
        r"(?:on the (?:floor|ground)|down) and (?:can't|cannot|couldn't) get (?:up|back up)|(?:leg|hip|ankle|wrist|arm|knee|foot|shoulder|back) (?:is |looks |'s )?(?:broke|broken|bad|twisted|bent|wrong|snapped|at a (?:weird|funny|strange) angle)",
        r"fell|fallen|falling|(?:had|took) a (?:bad )?fall|(?:tripped|slipped)(?= (?:on|and|down|over|in|off|at|while|backwards|getting))",
        r"can't get (?:up|back up)|(?:broke|broken|hurt) (?:his|her|my) (?:hip|leg|ankle|wrist|arm)",
    ),
    "unconscious": _compile(
        r"passed out|pass(?:es|ing) out|faint(?:ed|ing)?|unconscious|unresponsive|blacked out",
        r"(?:won't|will not|can't|cannot|couldn't) wake (?:him|her|them|up)|not waking up|"
        r"won't wake|not responding|out cold|(?:won't|doesn't|isn't) respond",
        r"(?:won't|will not|doesn't|does not|isn't|not) answer(?:ing)?(?: me)?|slumped over|"
        r"(?:isn't|not|no) (?:moving|awake)|he no wake|she no wake",
    ),
    "seizure": _compile(
        r"shak(?:ing|e|es),? (?:his |her |the |all |whole )*body|(?:body|arms|legs) (?:is |are )?(?:all )?shak\w*|foam(?:ing)? (?:at|from) the mouth|froth\w*",
        r"seiz(?:ure|ures|ing|ed)|convuls\w*|fitting|having (?:a|another) fit|epilep\w*",
        r"shaking all over|(?:body|arms and legs) (?:is |are )?(?:jerking|shaking)|jerking",
    ),
    "diabetic_emergency": _compile(
        r"type (?:1|one|2|two)(?: diabetic)?\b|(?:sugar|glucose|meter|reading|levels?|bm|number)\b(?:[\w' ]+ ){0,3}(?:low|high|\d+(?:\.\d)?)\b|hypo\b|(?:glucose|dextrose|sugar) (?:tablets?|gel|tabs)",
        r"diabet\w*|blood sugar|(?:sugar|glucose) (?:is |was )?(?:low|high|really low|dropped)|insulin"
        r"|hypoglyc\w*|low sugar",
    ),
    "missing_person": _compile(
        r"(?:walked|wandered|went|slipped|got) (?:out|off|away)(?: of the house| while| when| again)|(?:dementia|alzheimer'?s|autism|autistic)",
        r"(?:not|hasn't|has not|didn't|did not|never|haven't) (?:come|came|coming|been|got|gotten|made it|returned|turned up) (?:back|home)",
        r"(?:she|he|they) (?:not |no |never )(?:come|came|back)",
        r"(?:isn't|is not|not|hasn't|has not|wasn't) (?:back|home|returned)(?: yet)?",
        r"(?:no one|nobody|none of us) (?:has |have )?(?:seen|heard from) (?:him|her|them)|(?:last|was last) seen",
        r"can't find (?:him|her|them|my \w+|our \w+)|(?:phone|cell) (?:goes|going|went) (?:straight )?to voicemail",
        r"disappear\w*|vanished|gone missing|went missing|(?:he|she)'s gone (?:off|out)|wander\w*|lost (?:track of )?(?:my|our) \w+",
        r"(?:should|supposed to) (?:have been|be) (?:back|home)|(?:never|didn't) (?:show(?:ed)? up|arrive|make it to)",
        r"(?:is |are |went |gone )missing|missing (?:child|kid|person|son|daughter|boy|girl)",
        r"can't find (?:my|our|his|her) (?:son|daughter|child|kid|boy|girl|mom|mother|dad|father|"
        r"grandma|grandmother|grandpa|grandfather|husband|wife|brother|sister)",
        r"wander(?:ed|s)? off|(?:hasn't|has not|didn't|did not|never) c(?:a|o)me (?:back )?home|"
        r"ran away|nobody has seen (?:him|her)|lost (?:my|our) (?:son|daughter|child|kid)",
        r"(?:he|she|my \w+|our \w+)(?:'s| has)? (?:walked|wandered|drove|ran|run) (?:off|away)|(?:isn't|is not|not) anywhere|nowhere to be "
        r"found|can't find (?:him|her|them) anywhere|hasn't been seen",
    ),
    "theft_report": _compile(
        r"(?:broke|broken|busted|got) into (?:my|our|the|his|her) (?:car|truck|van|shed|garage|storage|locker|house|home|flat|apartment|office|store|shop|unit)",
        r"(?:somebody|someone|they|thieves|kids) (?:took|stole|nicked|pinched|swiped|grabbed|took off with) (?:my|our|the|his|her|all)",
        r"(?:my|our|the) (?:[\w']+ ){0,2}(?:is|are|was|were|'s|'re|has been|have been) (?:gone|missing|stolen|taken|nicked)",
        r"(?:packages?|parcels?|deliver(?:y|ies)) (?:off|from) (?:my|our|the) (?:porch|step|steps|doorstep|front door)|porch pirate",
        r"(?:smashed|broke|broken|busted) (?:my |the |our )?(?:car |truck |van |passenger |driver's |back |side )?window",
        r"vandali[sz]\w*|burgl(?:ed|arized|arised)|ransacked|break[- ]in (?:last|overnight|while|earlier|yesterday)|(?:was|got|been) (?:robbed|burgled)",
        r"(?:file|make|take) a (?:police )?report|(?:for|need) (?:the|my) insurance|crime (?:number|reference)",
        r"stolen|stole|(?:was|got|been) broken into|robbed|shoplift\w*|took (?:my|our) "
        r"(?:wallet|purse|bike|phone|car|package|bag|laptop|tools)",
        r"(?:wallet|purse|bike|bicycle|phone|car|package|packages|tools|laptop)s? "
        r"(?:is |are |was |were )?(?:gone|missing|taken)",
    ),
    "noise_complaint": _compile(
        r"(?:music|singing|voices|tv|television|party|bass|dog|neighbou?rs?)(?: is| are|'s)? (?:really |so |too |very |super )?loud|singing|karaoke|(?:the|their|his|her|loud) music|stereo|speakers?|drums?|bass (?:is )?(?:shaking|thumping|booming)|(?:yelling|shouting|screaming|partying) all night|fireworks|non[- ]emergency",
        r"loud (?:music|party|bass|stereo|tv|neighbou?rs?)|(?:music|party|bass|stereo|tv)"
        r" (?:is )?(?:so |really |very |too )?loud|blasting|barking|party|noise complaint|"
        r"(?:making|made) (?:so much|a lot of|too much) noise|noise (?:all night|for hours)",
    ),
}

#: Words that, denied by the caller ("no, no fire", "there's no gun"), take
#: back what was said of the type before, even said loosely ("he's on fire
#: tonight at karaoke").
DENIALS: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"\b(?:{words})\b")
    for name, words in {
        "structure_fire": r"fire|flames|smoke",
        "vehicle_fire": r"fire|flames",
        "shooting_stabbing": r"shot|shots|shooting|stabbed|stabbing|gunshots?",
        "severe_bleeding": r"blood|bleeding",
        "gas_leak_hazmat": r"gas|smell|fumes|leak",
        "traffic_collision": r"crash|accident|collision",
        "choking": r"choking|stuck|lodged|blocked",
        "suicidal_person": r"suicid\w*|kill (?:himself|herself|myself)",
    }.items()
}
