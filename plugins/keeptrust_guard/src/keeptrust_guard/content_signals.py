"""Curated signals of harmful content, by category: ``hate_speech``, ``harassment``, ``self_harm``,
``sexual``, ``violence``, and ``toxicity`` (what ``safety-filter``'s ``check_toxicity`` reads:
insults, profanity aimed at someone, threats and identity attacks).

Words alone decide little: a slur is strong, but most signals need a *target* (second person, an
identity group) and a predicate (dehumanising, threatening, inciting). Dampers lower the score for
negation ("you are not stupid"), reported speech, quotation and academic discussion, and help-seeking,
the hard negatives of HateCheck (Röttger et al. 2021) and of the OpenAI moderation taxonomy (Markov
et al. 2023) cited in ``eval/README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from keeptrust_guard import lexicon
from keeptrust_guard.signals import Signal, Table, signal

HATE = "hate_speech"
HARASSMENT = "harassment"
SELF_HARM = "self_harm"
SEXUAL = "sexual"
VIOLENCE = "violence"
TOXICITY = "toxicity"
CATEGORIES = (HATE, HARASSMENT, SELF_HARM, SEXUAL, VIOLENCE, TOXICITY)


def alt(words: Iterable[str]) -> str:
    """A non-capturing alternation, longest first, so "fucking" is tried before "fuck"."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)) + ")"


_STOP = frozenset({"the", "a", "an", "all", "my", "your"})


def stems(words: Iterable[str]) -> tuple[str, ...]:
    """Trigger words: the first word of each entry that is not a stop word ("the chinese" → "chinese")."""
    # Exact words: the lists spell every form the patterns accept, and a prefix would wake the group
    # signals on "transformers" ("transgender") or "blackboard" ("blacks").
    out = set()
    for entry in words:
        parts = [p for p in entry.replace("-", " ").split() if p not in _STOP] or entry.split()
        out.add("=" + parts[0])
    return tuple(out)


SLUR = alt(lexicon.SLURS)
AMBIGUOUS = alt(lexicon.AMBIGUOUS_SLURS)
INSULT_N = alt(lexicon.INSULT_NOUNS)
INSULT_A = alt(lexicon.INSULT_ADJECTIVES)
PROFANE = alt(lexicon.PROFANITY)
# The listed groups, or "people from <somewhere>".
GROUP = rf"(?:{alt(lexicon.GROUPS)}|(?:people|immigrants|folks|migrants|refugees) from [a-z]+)"
GROUP_ONE = alt(lexicon.GROUPS_SINGULAR)
STEREOTYPE = alt(lexicon.STEREOTYPE_SINGULAR)
DEHUMAN = alt(lexicon.DEHUMANISING)
YOU = r"(?:you|u|ya|youre|you're|ur|your)"
INTENSIFIER = r"(?:such |a |an |the |so |fucking |complete |total |absolute |utter |real |little |stupid |dumb |big |)*"
PERSON = (r"(?:him|her|them|you|someone|somebody|people|a person|my (?:wife|husband|boss|teacher|neighbou?r|"
          r"classmates?|coworkers?|ex|parents?|mother|father|brother|sister|friend|family)|the (?:teacher|president|"
          r"police|students|kids|children|people|crowd)|everyone|everybody|a child|children|kids|(?:a lot of|many|"
          r"as many|lots of) people|a crowd|crowds)")
NOT_PROCESS = r"(?! (?:process|processes|thread|task|job|pid|session|server|container|signal))"

_SLUR_T = stems(lexicon.SLURS) + stems(lexicon.AMBIGUOUS_SLURS)
_GROUP_T = (*stems(lexicon.GROUPS), "=people", "=folks")  # "people from <somewhere>"
_INSULT_T = stems(lexicon.INSULT_NOUNS) + stems(lexicon.INSULT_ADJECTIVES)
_PROFANE_T = stems(lexicon.PROFANITY)
_YOU_T = ("you", "u", "ya", "youre", "ur", "your")


def _both(name: str, categories: tuple[str, ...], weight: float, pattern: str, triggers: Iterable[str] = ()
          ) -> tuple[Signal, ...]:
    """The same pattern counted in several categories (a threat is violence, harassment and toxic)."""
    return tuple(signal(f"{name}", c, weight, pattern, tuple(triggers)) for c in categories)


_HATE: tuple[Signal, ...] = (
    *_both("slur", (HATE, TOXICITY), 0.8, rf"\b{SLUR}\b", _SLUR_T),
    *_both("ambiguous_slur", (HATE, TOXICITY), 0.45, rf"\b{AMBIGUOUS}\b", _SLUR_T),
    *_both("dehumanising_group", (HATE, TOXICITY), 0.8,
           rf"\b{GROUP}\b[^.!?\n]{{0,25}}?\b(?:are|is|were|r)\b(?! not\b| never\b)"
           r"(?: all| just| nothing but| basically| too| so| such| mostly| always|"
           rf" literally| like| no better than| simply| truly| such| fucking| a bunch of| nothing more than)* "
           rf"{DEHUMAN}\b", _GROUP_T),
    *_both("group_they_are", (HATE, TOXICITY), 0.75,
           rf"\b{GROUP}\b[^\n]{{0,80}}?\bthey(?:'re| are| r)\b(?: all| just| nothing but| like| basically| so)*"
           rf"(?: greedy| dirty| filthy| disgusting| stupid)? {DEHUMAN}\b", _GROUP_T),
    *_both("stereotype_one", (HATE, TOXICITY), 0.7,
           rf"\b(?:every|each|any|all|that|this|a|the) {GROUP_ONE}\b[^.!?\n]{{0,25}}?\b(?:is|was)\b "
           r"(?:just |basically |"
           rf"always |a |an |potentially |a potential |a born |a typical )*{STEREOTYPE}\b",
           stems(lexicon.GROUPS_SINGULAR)),
    *_both("denied_identity", (HATE, TOXICITY), 0.7,
           rf"\b{GROUP} (?:are|is) not (?:real |actual |true )?(?:women|men|people|humans?|persons)\b", _GROUP_T),
    *_both("incitement_group", (HATE, VIOLENCE, TOXICITY), 0.9,
           rf"\b(?:all |those |these |the |fucking |filthy |dirty |damn |every )?(?:{GROUP}|{GROUP_ONE})\b"
           r"[^.!?\n]{0,60}?\b(?:should|must|"
           r"need to|ought to|deserve to|have to|are going to|will) (?:all )?(?:be )?(?:die|killed|exterminated|"
           r"eradicated|wiped out|gassed|deported|shot|hanged|hung|burn(?:ed|t)?|lynched|removed|eliminated|purged|"
           r"sterili[sz]ed|locked up|put down|beaten|raped|enslaved|rounded up|persecuted|punished|hunted|"
           r"attacked)\b", (*_GROUP_T, *stems(lexicon.GROUPS_SINGULAR))),
    *_both("kill_group", (HATE, VIOLENCE, TOXICITY), 0.85,
           r"\b(?:kill|exterminate|gas|deport|lynch|eradicate|wipe out|get rid of|purge|shoot|hang|burn|nuke|"
           rf"eliminate) (?:all |every |each |the |those |these )*{GROUP}\b",
           ("kill", "exter", "gas", "depor", "lynch", "eradi", "wipe", "get", "purge", "shoot", "hang", "burn",
            "nuke", "elimi")),
    *_both("hate_group", (HATE, TOXICITY), 0.65,
           rf"\b(?:i |we )?(?:hate|despise|can'?t stand|loathe|detest|am sick of|are sick of) (?:(?:all |every |"
           rf"those |these |the |fucking )*{GROUP}|(?:every|each|any|that|this) {GROUP_ONE})\b",
           ("hate", "despi", "stand", "loath", "detes", "sick")),
    *_both("group_dont_belong", (HATE, TOXICITY), 0.6,
           rf"\b{GROUP} (?:don'?t|do not|doesn'?t) (?:belong|deserve (?:rights|to live|to vote|respect))|"
           rf"\b{GROUP} (?:are|is) (?:ruining|destroying|invading|infesting|polluting|replacing|poisoning) ",
           _GROUP_T),
    *_both("go_back", (HATE, HARASSMENT, TOXICITY), 0.6,
           r"\bgo back to (?:your (?:own )?(?:country|jungle|desert|cave|hut)|africa|mexico|china|where you "
           r"(?:came|come) from)\b", ("go",)),
    *_both("supremacist", (HATE, TOXICITY), 0.7,
           r"\b(?:white|aryan) (?:power|supremacy|pride worldwide)\b|\bheil hitler\b|\bsieg heil\b|\b1488\b|"
           r"\bgas the [a-z]+\b|\brace war now\b|\bthe jews control\b|\bjewish question\b",
           ("white", "aryan", "heil", "sieg", "gas", "race", "contr", "jewis")),
)

_HARASSMENT: tuple[Signal, ...] = (
    *_both("insult_you", (HARASSMENT, TOXICITY), 0.7,
           rf"\b{YOU}(?: are|'re| r| is)? {INTENSIFIER}{INSULT_N}\b|\b{YOU}(?: are|'re| r)? {INTENSIFIER}"
           rf"{INSULT_A}(?: {INSULT_N}| person| human| piece)?\b", _YOU_T),
    *_both("kill_yourself", (HARASSMENT, SELF_HARM, TOXICITY), 0.9,
           r"\b(?:kill|hang|shoot|neck|off|end) yourself\b|\bkys\b|\bgo (?:and )?die\b|\bdrink bleach\b|"
           r"\b(?:you should|u should|just|go) (?:die|kill yourself|disappear forever)\b",
           ("kill", "hang", "shoot", "neck", "off", "end", "kys", "go", "drink", "you", "u", "just")),
    *_both("nobody_likes_you", (HARASSMENT, TOXICITY), 0.6,
           r"\b(?:nobody|no one|no-one|everyone|everybody) (?:likes|loves|cares about|wants|would miss|hates|"
           r"laughs at) (?:you|u)\b|\bthe world (?:would be|is) better (?:off )?without (?:you|u)\b",
           ("likes", "loves", "cares", "wants", "would", "hates", "laugh", "bette")),
    *_both("you_deserve_harm", (HARASSMENT, VIOLENCE, TOXICITY), 0.85,
           r"\b(?:you|u) (?:should|deserve to|ought to|need to) (?:be )?(?:die|suffer|raped|beaten|rot|burn|shot|"
           r"hanged|hung|killed|tortured|punched)\b", _YOU_T),
    *_both("threat_you", (HARASSMENT, VIOLENCE, TOXICITY), 0.9,
           r"\b(?:i|we)(?: will|'ll| am going to|'m going to| am gonna|'m gonna| gonna| shall| want to)"
           r" (?:find|hunt|kill|hurt|beat|rape|destroy|stab|shoot|murder|strangle|choke|break|end) (?:you|u|ur)\b|"
           r"\bi know where (?:you|u) live\b|\b(?:watch|better watch) your back\b|\byou(?:'re| are) (?:dead|going "
           r"to die|gonna die)\b", ("find", "hunt", "kill", "hurt", "beat", "rape", "destr", "stab", "shoot", "murde",
                                   "stran", "choke", "break", "end", "live", "back", "dead", "die")),
    *_both("doxxing", (HARASSMENT,), 0.6,
           r"\b(?:post|leak|publish|share|spread|find out|dig up)\b[^.!?\n]{0,20}?\b(?:his|her|their|your) "
           r"(?:home )?(?:address|phone number|workplace|nudes|real name|location)\b",
           ("post", "leak", "publi", "share", "sprea", "find", "dig")),
    *_both("shut_up", (HARASSMENT, TOXICITY), 0.4, r"\bshut (?:the fuck |the hell |your (?:stupid |fucking )?"
           r"(?:mouth|face|trap) |)up\b|\bstfu\b|\bgtfo\b", ("shut", "stfu", "gtfo")),
    *_both("fuck_you", (HARASSMENT, TOXICITY), 0.75, r"\b(?:fuck|screw|f\*+k|f\*+) (?:you|u|off|ur)\b|"
           r"\bgo fuck yourself\b|\bsuck my (?:dick|cock)\b|\beat shit\b", ("fuck", "screw", "f", "go", "suck",
                                                                              "eat")),
)

_TOXIC: tuple[Signal, ...] = (
    signal("profanity", TOXICITY, 0.3, rf"\b{PROFANE}\b", _PROFANE_T),
    signal("masked_profanity", TOXICITY, 0.3, r"\b(?:f\*{2,}|f\*ck|sh\*t|b\*tch|a\*\*hole|c\*nt|fck|fuk|phuck)\b",
           ("f", "fck", "fuk", "phuck", "sh", "b", "a", "c")),
    signal("third_person_insult", TOXICITY, 0.4,
           rf"\b(?:he|she|they|this guy|that guy|this person|your (?:mom|mother|dad|father))(?: is|'s| are|'re)"
           rf" {INTENSIFIER}(?:{INSULT_N}|{INSULT_A})\b", ("he", "she", "they", "this", "that", "your")),
)

_SELF_HARM: tuple[Signal, ...] = (
    signal("self_harm_intent", SELF_HARM, 0.9,
           r"\b(?:i|i'm|im|i am)(?: really| seriously)?(?: want| going| plan(?:ning)?| thinking about| about| ready|"
           r" decided| need)(?: to)? (?:kill myself|end (?:my life|it all|things)|commit suicide|take my (?:own )?life|"
           r"hurt myself|cut myself|hang myself|overdose|die|disappear forever|jump off)\b|\b(?:i've|ive|i have)"
           r" decided to (?:kill myself|end (?:my life|it all)|die|take my (?:own )?life)\b",
           ("mysel", "life", "all", "thing", "suici", "overd", "die", "disap", "jump")),
    signal("kill_myself", SELF_HARM, 0.8,
           r"\bto (?:kill|hang|drown|shoot|poison|hurt) myself\b|\bif i (?:killed|kill|hanged|hang) myself\b|"
           r"\b(?:cut|slit|slash) my (?:wrists?|arms?|veins)\b|\b(?:keep|start|continue|go on) (?:cutting|burning|"
           r"starving)\b|\bmy self-?harm\b|\bbetter off (?:dead|without me)\b",
           ("to", "if", "cut", "slit", "slash", "keep", "start", "conti", "go", "my", "bette")),
    signal("self_harm_method", SELF_HARM, 0.85,
           r"\b(?:how|best way|easiest way|painless way|quickest way|fastest way|surest way|methods?|ways?)\b"
           r"[^.!?\n]{0,20}?\b(?:kill myself|commit suicide|end my (?:own )?life|to die painlessly|overdose on|"
           r"cut myself|hang myself|slit my wrists|suicide)\b", ("how", "best", "easie", "painl", "quick",
                                                                  "faste", "sures", "metho", "way", "ways")),
    signal("self_harm_plan", SELF_HARM, 0.85,
           r"\b(?:thinking about|thought about|planning|plan|considering|going to|want to|ready to|about to)\b "
           r"(?:ending|end|killing|kill|taking|take) (?:my (?:own )?life|myself|it all)\b|"
           r"\b(?:least painful|most painless|painless|quickest|easiest|surest|fastest) (?:way|method)s? to die\b|"
           r"\b(?:finally end it|end it all|end it tonight)\b",
           ("think", "thoug", "plann", "plan", "consi", "going", "want", "ready", "about", "least", "most", "painl",
            "quick", "easie", "sures", "faste", "final", "end")),
    signal("self_harm_despair", SELF_HARM, 0.75,
           r"\b(?:i )?(?:don'?t|do not) want to (?:live|be alive|exist|wake up)(?: anymore| any more)?\b|"
           r"\bi wish i (?:was|were) dead\b|\bi want to die\b|\b(?:i'd|i would) be better off dead\b|"
           r"\bno reason (?:for me )?to (?:live|go on)\b", ("don", "dont", "do", "wish", "want", "id", "would",
                                                           "reaso")),
    signal("lethal_dose", SELF_HARM, 0.6,
           r"\b(?:how many|what amount of|lethal dose of|fatal dose of|overdose on)\b[^.!?\n]{0,40}?"
           r"\b(?:pills|tablets|mg|paracetamol|tylenol|acetaminophen|ibuprofen|sleeping pills|insulin)\b"
           r"[^.!?\n]{0,30}?\b(?:kill|lethal|fatal|die|overdose|od|dead)?", ("how", "what", "letha", "fatal",
                                                                          "overd")),
    signal("self_harm_acts", SELF_HARM, 0.6,
           r"\b(?:cut|cutting|burn|burning|starve|starving|hurt|hurting|punish|punishing) myself\b|"
           r"\bpro-?ana\b|\bthinspo(?:ration)?\b|\bpurging tips\b",
           ("cut", "cutti", "burn", "burni", "starv", "hurt", "hurti", "punis", "pro", "proan", "ana", "thins",
            "purgi")),
)

SEXUAL_EXPLICIT = (r"(?:porn|porno|pornographic|xxx|hentai|blowjob|handjob|cumshot|cum|cumming|orgasm|masturbat\w*|"
                   r"dildo|fingering|gangbang|anal sex|oral sex|deepthroat|erotica|erotic|nudes|naked|sext|sexting|"
                   r"horny|pussy|cock|dick pic|tits|boobs|clit|fuck (?:me|her|him)|sex scene|sexual(?:ly)? "
                   r"explicit|smut|lewd|nsfw|threesome|bdsm|fetish|sexy)")
MINOR = (r"(?:child|children|kid|kids|minor|minors|underage|under-age|preteen|pre-teen|loli|lolita|shota|"
         r"(?:1[0-7]|[1-9])[- ]?(?:year|yr)s?[- ]?old|schoolgirl|schoolboy|young girl|little girl|young boy|"
         r"little boy|toddler|teen|teens|teenager|middle schooler)")
_SEXUAL_T = ("porn", "porno", "xxx", "henta", "blowj", "handj", "cumsh", "cum", "cummi", "orgas", "mastu", "dildo",
             "finge", "gangb", "anal", "oral", "deept", "eroti", "nudes", "naked", "sext", "sexti", "horny",
             "pussy", "cock", "dick", "tits", "boobs", "clit", "fuck", "sex", "sexua", "smut", "lewd", "nsfw",
             "three", "bdsm", "fetis", "sexy")

_SEXUAL: tuple[Signal, ...] = (
    signal("explicit_terms", SEXUAL, 0.55, rf"\b{SEXUAL_EXPLICIT}\b", _SEXUAL_T),
    signal("explicit_request", SEXUAL, 0.8,
           r"\b(?:write|describe|generate|tell me|create|give me|roleplay|narrate|show me|send me|i want|i need)\b"
           r"[^.!?\n]{0,40}?"
           rf"\b(?:{SEXUAL_EXPLICIT}|sex|sexual|intimate|graphic sex|in bed)\b[^.!?\n]{{0,40}}?"
           r"\b(?:story|scene|fantasy|details|detail|roleplay|fanfic|fan fiction|encounter|pics?|pictures?|images?|"
           r"video|description|explicit|graphic)?", (*_SEXUAL_T, "intim", "graph", "bed")),
    signal("sexual_touch", SEXUAL, 0.7,
           r"\b(?:touch|kiss|lick|undress|grope|caress|rub)\w* (?:me|you|her|him)\b[^.!?\n]{0,20}?\bsexually\b|"
           r"\bsexually (?:touch|arouse|pleasure|satisfy)", ("touch", "kiss", "lick", "undre", "grope", "cares",
                                                             "rub", "sexua")),
    signal("sexual_minors", SEXUAL, 1.0,
           rf"\b{MINOR}\b[^.!?\n]{{0,40}}?\b(?:{SEXUAL_EXPLICIT}|sex|sexual|intercourse|naked|nude)\b|"
           rf"\b(?:{SEXUAL_EXPLICIT}|sex|sexual|intercourse)\b[^.!?\n]{{0,40}}?\b{MINOR}\b",
           ("child", "child", "kid", "kids", "minor", "under", "prete", "pre", "loli", "lolit", "shota", "year",
            "yr", "years", "schoo", "young", "littl", "toddl", "teen", "teens", "teena", "middl", "old")),
)

_VIOLENCE: tuple[Signal, ...] = (
    signal("weapon_recipe", VIOLENCE, 0.9,
           r"\b(?:how|ways?|steps|instructions|guide|recipe|tutorial)\b[^.!?\n]{0,25}?\b(?:mak(?:e|ing)|build(?:ing)?|"
           r"creat(?:e|ing)|assembl(?:e|ing)|construct(?:ing)?|manufactur(?:e|ing)|synthesi[sz](?:e|ing)|cook(?:ing)?|"
           r"produc(?:e|ing)|3d print(?:ing)?)\b (?:a |an |my own |some |homemade )?"
           r"(?:pipe bomb|bomb|explosives?|ied|molotov(?: cocktail)?|nail bomb|grenade|napalm|nerve agent|sarin|"
           r"ricin|anthrax|bioweapon|chemical weapon|dirty bomb|ghost gun|untraceable (?:gun|firearm)|silencer|"
           r"suppressor|thermite|tatp|c-?4|semtex|mustard gas|chlorine gas|poison gas)\b",
           ("how", "way", "ways", "steps", "instr", "guide", "recip", "tutor")),
    signal("threat_to_kill", VIOLENCE, 0.85,
           r"\b(?:i|we)(?: will|'ll| am going to|'m going to| am gonna|'m gonna| gonna| want to| plan to| intend to)"
           r" (?:kill|shoot|stab|murder|bomb|attack|blow up|massacre|behead|torture|strangle|run over|poison|beat|"
           rf"hit|punch|hurt|slap|kick|choke) {PERSON}\b", ("kill", "shoot", "stab", "murde", "bomb", "attac", "blow",
                                                            "massa", "behea", "tortu", "stran", "run", "poiso", "beat",
                                                            "hit", "punch", "hurt", "slap", "kick", "choke")),
    signal("hide_the_harm", VIOLENCE, 0.5,
           r"\b(?:hit|beat|hurt|punch|choke|strangle|poison)\w* (?:him|her|them|someone|my \w+)\b[^.!?\n]{0,30}?"
           r"\bwithout (?:leaving )?(?:any )?(?:marks|bruises|evidence|a trace|traces)\b",
           ("hit", "beat", "hurt", "punch", "choke", "stran", "poiso")),
    signal("threat_to_attack_place", VIOLENCE, 0.85,
           r"\b(?:i|we)(?: will|'ll| am going to|'m going to| am gonna|'m gonna| gonna| want to| plan to| intend to)"
           r" (?:blow up|bomb|burn down|shoot up|attack|set fire to|torch) (?:the|a|my|our|this|that) ",
           ("blow", "bomb", "burn", "shoot", "attac", "set", "torch")),
    signal("how_to_kill", VIOLENCE, 0.85,
           r"\b(?:how (?:do i |can i |to |would i |should i )|ways to |(?:best|easiest|most effective|quickest|"
           r"fastest|surest) (?:way|method)s? to |help me )"
           r"(?:kill|murder|poison|strangle|torture|kidnap|stab|shoot|drown|suffocate|hurt|maim|dispose of the body of)"
           rf" {PERSON}{NOT_PROCESS}\b|\b(?:get away with|cover up) (?:a )?murder\b|\bdispose of (?:a|the) body\b|"
           r"\bhide (?:a|the) body\b", ("how", "ways", "best", "easie", "help", "get", "cover", "dispo", "hide")),
    signal("mass_attack", VIOLENCE, 0.8,
           r"\b(?:plan|planning|carry out|commit|organi[sz]e|how to do|execute)\b[^.!?\n]{0,30}?\b(?:mass shooting|"
           r"school shooting|terrorist attack|terror attack|massacre|bombing|suicide bombing|killing spree|"
           r"shoot up (?:the|a|my) (?:school|church|mosque|synagogue|mall|office))\b|\bshoot up (?:the|a|my) "
           r"(?:school|church|mosque|synagogue|mall|office)\b", ("plan", "plann", "carry", "commi", "organ", "how",
                                                                   "execu", "shoot")),
    signal("graphic_violence", VIOLENCE, 0.45,
           r"\b(?:beat|torture|rape|murder|kill|behead|mutilate|dismember|skin|disembowel|gut|slaughter)\b "
           rf"{PERSON} (?:to death|slowly|alive|until (?:they|he|she) (?:die|dies|bleed|bleeds|scream|screams))\b|"
           r"\b(?:blood|guts|brains|entrails|intestines) (?:spraying|everywhere|splattered|spilling|gushing)\b",
           ("beat", "tortu", "rape", "murde", "kill", "behea", "mutil", "disme", "skin", "disem", "gut", "slaug",
            "blood", "guts", "brain", "entra", "intes")),
)

_DAMPERS: tuple[Signal, ...] = (*(
    sig
    for c in (HATE, HARASSMENT, TOXICITY)
    for sig in (
        signal("academic_discussion", c, -0.7,
               r"\b(?:the (?:word|term|slur|epithet|n-word|f-word)|slurs?\b|etymology|linguistic|sociolinguistic|"
               r"reclaim(?:ed|ing)?|history of (?:the|this)|(?:is|was|are|were) (?:considered |deemed )?"
               r"(?:offensive|derogatory|a slur|racist|bigoted|homophobic|hateful|dehumani[sz]ing)|why is (?:it|the)|"
               r"in the (?:novel|book|film|song|play)|(?:huckleberry finn|to kill a mockingbird)|(?:hate speech|"
               r"harassment) (?:detection|classifier|dataset|research|policy|laws?)|content moderation|"
               r"moderators?|stereotypes?|myths?|propaganda|counter-?speech|is (?:it|this|that) (?:considered |really "
               r"|still )?(?:hate speech|racist|sexist|hateful|offensive|bigoted|harassment|bullying|abusive|abuse|"
               r"toxic|an insult|insulting|a threat|threatening)\b|"
               # Asking whether something crosses a line: 'Is "..." considered harassment?'.
               r"(?:considered|deemed|counts? as|qualif(?:y|ies) as) (?:harassment|bullying|abuse|abusive|toxic|"
               r"an insult|insulting|a threat|threatening|hate speech)\b)",
               ("the", "slur", "slurs", "etymo", "lingu", "socio", "recla", "histo", "is", "was", "are", "were",
                "why", "in", "huckl", "to", "hate", "haras", "conte", "moder", "stere", "myth", "myths", "propa",
                "count", "consi", "deeme", "quali")),
        signal("negated_or_reported", c, -0.6,
               rf"\b{YOU}(?: are|'re| r)? (?:not|never|no) (?:a |an )?{INTENSIFIER}(?:{INSULT_N}|{INSULT_A})\b|"
               r"\b(?:called|calls|calling|named|labell?ed|said|says|told me|wrote|yelled|shouted)\b[^.!?\n]{0,20}?"
               r"\b(?:me|him|her|us|them|my \w+)\b[^.!?\n]{0,10}?(?:an? |the )?|\b(?:it'?s|it is|that'?s|that is) "
               r"(?:wrong|not ok|not okay|unacceptable|hurtful|never ok) to (?:say|call)\b|"
               # A conditional joke ("you're an idiot if you don't try this recipe") insults no one.
               rf"\b{YOU}(?: are|'re| r)? (?:an? )?{INTENSIFIER}(?:{INSULT_N}|{INSULT_A}|crazy|mad|nuts) if "
               r"(?:you )?(?:don'?t|do not|skip|miss|pass (?:on|up)|never)\b",
               ("you", "u", "ya", "youre", "ur", "your", "calle", "calls", "named", "label", "said", "says", "told",
                "wrote", "yelle", "shout", "it", "its", "that", "thats")),
    )
), *(
    signal("help_seeking", SELF_HARM, -0.45,
           r"\b(?:prevention|hotline|helpline|crisis line|warning signs|awareness|how (?:can|do|should) i (?:help|"
           r"support)|(?:my|a) (?:friend|son|daughter|student|partner|patient) (?:is|who is|has been)|"
           r"statistics|research|history of)\b", ("preve", "hotli", "helpl", "crisi", "warni", "aware", "how",
                                                   "my", "a", "stati", "resea", "histo")),
    signal("medical_education", SEXUAL, -0.55,
           r"\b(?:sex education|sexual health|reproductive|contracepti\w+|puberty|consent education|anatomy|"
           r"std|sti|stis|hiv|gyn[a]?ecolog\w*|urolog\w*|medical|clinic|doctor|harassment (?:policy|training)|"
           r"sexual (?:harassment|abuse|assault|misconduct)|"
           r"abuse prevention|report(?:ing)? abuse|safeguarding|grooming signs|protect (?:children|kids))\b",
           ("sex", "sexua", "repro", "contr", "puber", "conse", "anato", "std", "sti", "stis", "hiv", "gynae",
            "gynec", "urolo", "medic", "clini", "docto", "haras", "abuse", "repor", "safeg", "groom", "prote")),
    signal("fiction_or_history", VIOLENCE, -0.4,
           r"\b(?:in the (?:novel|book|film|movie|game|story|play|series)|historians?|historical|the battle of|"
           r"world war|during the war|documentary|news report|crime statistics|self-defen[cs]e)\b",
           ("in", "histo", "the", "world", "durin", "docum", "news", "crime", "self")),
))

SIGNALS: tuple[Signal, ...] = (*_HATE, *_HARASSMENT, *_TOXIC, *_SELF_HARM, *_SEXUAL, *_VIOLENCE, *_DAMPERS)


def table(categories: Iterable[str]) -> Table:
    """The indexed table of the given categories (a policy builds its own once, at start-up)."""
    wanted = set(categories)
    return Table([s for s in SIGNALS if s.category in wanted])
