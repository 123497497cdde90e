"""Curated signals of prompt injection and jailbreaks: the shared vocabulary, the direct, role-play
and extraction families, and the assembled table (``SIGNALS``).

Written against the skeleton view (case folded, accents stripped, look-alikes and leetspeak undone),
so "1gn0re prev1ous instructi0ns" reads as "ignore previous instructions". Gaps between words are
bounded character classes (``[^.!?\\n]{0,40}?``): a match costs at most a constant window per
anchor word, never backtracking over the whole text.

The families follow the public taxonomies cited in ``eval/README.md``: instruction override (Perez &
Ribeiro 2022), role-play personas (Shen et al. 2023, "Do Anything Now"), prompt extraction
(Tensor Trust, Gandalf), indirect injection (``injection_indirect``) and multilingual attacks
(``injection_multilingual``).
"""

from __future__ import annotations

from keeptrust_guard.injection_vocabulary import (
    ANTECEDENT,
    CATEGORY,
    FREE_PERSONA,
    FREE_T,
    LIMITS,
    LIMITS_T,
    OVERRIDE,
    OVERRIDE_T,
    STRONG_TARGET,
    WEAK_TARGET,
    G,
    S,
)
from keeptrust_guard.signals import Signal, Table, signal

_DIRECT: tuple[Signal, ...] = (
    signal("override_instructions", CATEGORY, 0.9,
           rf"\b{OVERRIDE}\b{G}\b{ANTECEDENT}\b{S}\b{STRONG_TARGET}\b", OVERRIDE_T, family="direct"),
    signal("override_instructions_bare", CATEGORY, 0.75,
           rf"\b{OVERRIDE} (?:all |any |every )?(?:of )?(?:your |the )?(?:(?!my |our )[a-z]+ )?{STRONG_TARGET}\b",
           OVERRIDE_T,
           family="direct"),
    signal("override_context", CATEGORY, 0.5,
           rf"\b{OVERRIDE}\b{S}\b(?:previous|prior|preceding|above|earlier|all|everything)\b{S}\b{WEAK_TARGET}\b",
           OVERRIDE_T, family="direct"),
    signal("override_what_you_were_told", CATEGORY, 0.85,
           r"\b(?:ignore|disregard|forget|discard|erase|scrap|ditch)\b (?:about )?"
           r"(?:everything|all|anything|what(?:ever)?)"
           r" (?:that )?(?:you(?:'ve| have)? (?:been|were) |(?:your|the) (?:creators?|developers?|makers?|"
           r"programmers?|owners?|operators?|trainers?) (?:have )?)(?:told|said|taught|instructed|given|programmed)",
           ("ignor", "disre", "forge", "disca", "erase", "scrap", "ditch"), family="direct"),
    signal("ignore_the_above", CATEGORY, 0.7,
           r"\b(?:ignore|disregard|forget)\b (?:all |everything )?(?:of )?(?:the |what(?:'s| is| was| came) )?"
           r"(?:above|previous|prior|preceding|foregoing|before)(?: text| message| prompt| sentence| line)?"
           r"(?: and|,|;|:| -| instead)", ("ignor", "disre", "forge"), family="direct"),
    signal("instructions_void", CATEGORY, 0.85,
           r"\b(?:previous|above|prior|earlier|old|original|initial|your|system|the)\b"
           r" (?:instructions?|rules|prompts?|directives?|guidelines|task|constraints)\b"
           r"(?: (?:above|before|earlier|so far|you (?:were|have been) given|you received))?"
           r" (?:were|was|are|is|have been|has been) (?:just |only |now |all )?(?:a test|wrong|fake|cancell?ed|void|"
           r"invalid|revoked|overridden|outdated|obsolete|deprecated|incorrect|no longer (?:valid|apply|applicable|"
           r"relevant|in effect)|null|replaced|lifted|removed|suspended|disabled|irrelevant)",
           ("instr", "rules", "promp", "direc", "guide", "task", "const"), family="direct"),
    signal("everything_void", CATEGORY, 0.75,
           r"\b(?:everything|all|anything|whatever) (?:you (?:were|have been) told|(?:written |said )?(?:above|before"
           r" this(?: message| line)?)|that came before|prior to this)\b[^.!?\n]{0,30}?\b(?:is|was|are) "
           r"(?:now )?(?:void|invalid|cancell?ed|irrelevant|null|a placeholder|fake|a test|obsolete|outdated)",
           ("every", "all", "anyth", "whate"), family="direct"),
    signal("new_instructions", CATEGORY, 0.55,
           r"\b(?:new|updated|real|actual|true|revised|following|secret|hidden) (?:instructions?|directives?|orders|"
           r"task|rules|system prompt)\b ?(?::|are|is|follow|below)",
           ("instr", "direc", "order", "task", "rules", "syste"), family="direct", user_weight=0.4),
    signal("your_new_task", CATEGORY, 0.6,
           r"\byour (?:new|real|true|actual|only|sole) (?:task|instructions?|goal|objective|purpose|job|mission|"
           r"role|directive|function) (?:is|are|will be|now)\b", ("your",), family="direct", user_weight=0.45),
    signal("no_longer_assistant", CATEGORY, 0.6,
           r"\byou(?: are|'re) no longer (?:a |an |the |my )?(?:[a-z]+ ){0,3}(?:bot|assistant|ai|model|chatbot|"
           r"agent|helper|gpt|chatgpt|language model)\b", ("longe",), family="direct"),
    signal("from_now_on", CATEGORY, 0.3,
           r"\b(?:from now on|from this point(?: on| forward)?|starting now|henceforth|for the rest of this "
           r"conversation)\b", ("from", "start", "hence", "rest"), family="direct"),
    signal("obey_me", CATEGORY, 0.55,
           r"\b(?:you (?:must|will|shall|have to) (?:now )?(?:obey|comply with) (?:me|my|only|every)|"
           r"i (?:command|order|instruct) you to)\b", ("obey", "compl", "comma", "order", "instr"), family="direct"),
    signal("regardless_of_rules", CATEGORY, 0.55,
           r"\b(?:no matter what|regardless of(?: what)?|irrespective of(?: what)?|even if)\b (?:your|the|any) "
           r"(?:rules|guidelines|policies|policy|instructions|programming|restrictions|filters|ethics|"
           r"safety (?:rules|guidelines|training))\b", ("matte", "regar", "irres", "even"), family="direct"),
    signal("bypass_your_safety", CATEGORY, 0.75,
           r"\b(?:override|bypass|disable|turn off|deactivate|circumvent|get around|evade|remove|switch off|"
           r"ignore|break free of|break out of|escape|jailbreak)\b (?:your|all of your|all your|its) "
           r"(?:[a-z]+ )?(?:safety|content|security|moderation|ethical|moral|openai|anthropic|ai|alignment)?"
           r" ?(?:filters?|guardrails?|restrictions?|safeguards?|protections?|censorship|limitations?|rules|"
           r"polic(?:y|ies)|guidelines|programming|training|protocols?|measures|checks|constraints)\b",
           ("overr", "bypas", "disab", "turn", "deact", "circu", "get", "evade", "remov", "switc", "ignor", "break",
            "escap", "jailb"), family="direct"),
    signal("bypass_safety", CATEGORY, 0.45,
           r"\b(?:override|bypass|disable|turn off|deactivate|circumvent|get around|evade|remove|switch off)\b"
           r" (?:the |all |any |these |those )?(?:[a-z]+ )?(?:safety|content|security|moderation|ethical)"
           r" ?(?:filters?|guardrails?|restrictions?|safeguards?|polic(?:y|ies)|protocols?|checks)\b",
           ("overr", "bypas", "disab", "turn", "deact", "circu", "get", "evade", "remov", "switc"), family="direct"),
    signal("fake_authority", CATEGORY, 0.5,
           r"\b(?:system|admin|administrator|root|sudo|developer|maintenance|security|emergency) "
           r"(?:override|command|access granted|authori[sz]ation code)s?\b|"
           r"\b(?:priority|emergency|executive) override\b|"
           r"\bfrom your (?:administrator|admin|developers?|creators?|operators?)\b|\b(?:god|admin|root|sudo) mode "
           r"(?:on|enabled|activated)\b",
           ("overr", "comma", "acces", "autho", "mode", "admin", "devel", "creat", "opera"), family="direct"),
    signal("safety_suspended", CATEGORY, 0.6,
           r"\b(?:safety |content |security )?(?:protocols?|filters?|restrictions|rules|guidelines|polic(?:y|ies)|"
           r"safeguards|guardrails)\b (?:are|is|have been|has been) (?:now |temporarily )?(?:suspended|disabled|lifted|"
           r"off|deactivated|removed|waived)\b|\b(?:polic(?:y|ies)|rules|guidelines|restrictions|filters|safety "
           r"rules)\b (?:do not|don'?t|no longer|won'?t|will not|does not|doesn'?t) apply\b",
           ("proto", "filte", "restr", "rules", "guide", "polic", "safeg", "guard", "apply"), family="direct"),
    signal("allowed_to_ignore", CATEGORY, 0.75,
           r"\byou(?: are|'re)? (?:now |hereby )?(?:allowed|permitted|authori[sz]ed|free|cleared) to (?:ignore|bypass|"
           r"break|disregard|skip|violate|override)\b|\bauthori[sz]ed (?:an? )?(?:exception|override|bypass)\b",
           ("allow", "permi", "autho", "free", "clear"), family="direct"),
    signal("replace_guidelines", CATEGORY, 0.6,
           r"\b(?:replace|swap|overwrite|rewrite|change|update) (?:your|the) (?:current |existing |original |system )?"
           r"(?:guidelines|instructions|rules|prompt|programming|directives|system prompt|policies)\b",
           ("guide", "instr", "rules", "promp", "progr", "direc", "polic"), family="direct"),
    signal("pretend_no_prompt", CATEGORY, 0.8,
           r"\b(?:pretend|imagine|act as if|assume|suppose) (?:that )?(?:the|your) (?:previous |prior |above |earlier |"
           r"original )?(?:system message|system prompt|instructions|rules|guidelines)\b[^.!?\n]{0,20}?"
           r"\b(?:never existed|don'?t exist|do not exist|are gone|were never|is empty|are empty|were deleted)",
           ("prete", "imagi", "act", "assum", "suppo"), family="direct"),
    signal("treat_me_as_developer", CATEGORY, 0.7,
           r"\btreat (?:everything|all|my (?:messages|words|requests|input)|what) (?:i say |i write )?as (?:if )?"
           r"(?:coming from|from|written by|said by|it came from) (?:your|the) (?:developer|creator|system|admin|"
           r"operator|administrator)", ("treat",), family="direct"),
    signal("drop_the_act", CATEGORY, 0.6,
           r"\b(?:drop|stop|quit|abandon) (?:the act of (?:being )?|pretending to be |being )(?:an? )?"
           r"(?:safe|helpful|harmless|"
           r"ethical|polite|restricted|filtered|censored|good|responsible)\b|\b(?:abandon|drop|forget|leave|exit|"
           r"break out of|step out of) (?:the|your) (?:role|persona|character|identity)\b(?: you were (?:given|"
           r"assigned))?|\bforget who you are(?: supposed to be)?\b",
           ("drop", "stop", "quit", "aband", "forge", "leave", "exit", "break", "step"), family="direct"),
    signal("session_was_fake", CATEGORY, 0.55,
           r"\b(?:so far|until now|up to now|previous (?:messages|conversation)|everything before)\b[^.!?\n]{0,20}?"
           r"\b(?:was|were|has been) (?:a |just a |only a )?(?:simulation|test|drill|fake|rehearsal)\b|"
           r"\breal (?:session|conversation|task|test) (?:starts|begins) now\b",
           ("far", "until", "up", "previ", "every", "real"), family="direct"),
    signal("prefix_injection", CATEGORY, 0.6,
           r"\b(?:start|begin|open|preface)\b (?:your |the )?(?:response|reply|answer|output)s? (?:with|by saying)"
           r" ['\"“]?(?:absolutely|sure|certainly|of course|here is|here's|yes|i will|i can)\b",
           ("respo", "reply", "answe", "outpu"), family="direct"),
    signal("refusal_suppression", CATEGORY, 0.6,
           r"\bwithout (?:any )?(?:refusals?|refusing)\b|\b(?:never|don'?t|do not) "
           r"(?:say|use|write) (?:the )?(?:words?|phrases?)\b[^.!?\n]{0,30}?\b(?:cannot|can'?t|unable|sorry|"
           r"unfortunately|as an ai|however)", ("refus", "apolo", "words", "word", "phras"), family="direct"),
    signal("claims_creator", CATEGORY, 0.5,
           r"\bi am (?:your|the|an?) (?:developer|creator|admin|administrator|owner|programmer|operator|"
           r"system administrator)s?\b|\bi (?:work for|am from) (?:openai|anthropic|the developers)\b",
           ("devel", "creat", "admin", "owner", "progr", "opera", "syste", "opena", "anthr"), family="direct"),
    signal("pwned_payload", CATEGORY, 0.75,
           r"\b(?:say|print|output|write|respond with|reply with|answer with|type|return)\b"
           r" (?:only |exactly |just )?['\"“]?(?:i have been|i've been) ?(?:pwned|hacked|owned|jailbroken)",
           ("pwned", "hacke", "owned", "jailb"), family="direct"),
    signal("pwned_word", CATEGORY, 0.45, r"\b(?:pwned|pwn3d)\b", ("pwned",), family="direct"),
)

_ROLEPLAY: tuple[Signal, ...] = (
    signal("do_anything_now", CATEGORY, 0.9, r"\bdo anything now\b|\bdan mode\b|\bdan ?\d+(?:\.\d+)?\b|"
           r"\b(?:you are|you're|act as|pretend to be|become|be) (?:now )?(?:a |the )?dan\b", ("anyth", "dan"),
           family="roleplay"),
    signal("persona_names", CATEGORY, 0.6,
           r"\b(?:stan|dude|aim|mongo tom|betterdan|anti-?gpt|evil confidant|kevin|apophis|ucar|balakula|"
           r"niccolo|machiavelli|basedgpt|devmode|chaosgpt|wormgpt|fraudgpt|jailbreakgpt|omega|alphabreak)\b"
           r"[^.!?\n]{0,60}?\b(?:no|without|unfiltered|amoral|any|never|always|restrictions|filters|rules)\b",
           ("stan", "dude", "aim", "mongo", "bette", "anti", "antig", "evil", "kevin", "apoph", "ucar", "balak",
            "nicco", "machi", "based", "devmo", "chaos", "wormg", "fraud", "jailb", "omega", "alpha"),
           family="roleplay"),
    signal("mode_switch", CATEGORY, 0.3,
           r"\b(?:developer|god|debug|admin|sudo|dev) mode\b", ("mode",), family="roleplay"),
    signal("jailbreak_mode", CATEGORY, 0.6,
           r"\b(?:unrestricted|jailbreak|jailbroken|unfiltered|uncensored|opposite|evil|chaos|no[- ]?filter|"
           r"freedom|dan|amoral|unethical|unlocked) mode\b", ("mode",), family="roleplay"),
    signal("mode_enabled", CATEGORY, 0.75,
           r"\b(?:developer|god|debug|unrestricted|jailbreak|jailbroken|unfiltered|uncensored|opposite|evil|"
           r"dan|chaos) mode (?:enabled|activated|output|response|is (?:now )?(?:enabled|active|on))\b|"
           r"\byou(?: are|'re) (?:now )?in (?:the )?(?:developer|god|unrestricted|jailbreak|jailbroken|unfiltered|"
           r"uncensored|opposite|evil|dan|chaos) mode\b|\bsimulate (?:the )?(?:developer|jailbreak|dan) mode\b|"
           r"\b(?:chatgpt|gpt|assistant|ai|llm) with (?:developer|god|dan|unrestricted) mode\b",
           ("mode",), family="roleplay"),
    signal("any_content", CATEGORY, 0.5,
           r"\b(?:generate|write|produce|create|say|output)\b (?:any kind of|all kinds of|any) content\b"
           r"[^.!?\n]{0,30}?\b(?:even|including) (?:offensive|harmful|illegal|explicit|violent|unethical)",
           ("gener", "write", "produ", "creat", "say", "outpu"), family="roleplay"),
    signal("free_persona", CATEGORY, 0.7,
           rf"\b{FREE_PERSONA} (?:ai|a\.i\.|assistant|chatbot|model|version|mode|persona|character|llm|gpt|"
           r"chatgpt|alter ego|twin|counterpart|entity|bot|system)\b", FREE_T, family="roleplay"),
    signal("act_as_free", CATEGORY, 0.75,
           r"\b(?:act|acting|behave|respond|answer|roleplay|role-play|role play|pretend|imagine|simulate|emulate|"
           r"play|be)\b[^.!?\n]{0,30}?\b(?:as|like|to be|you are|you're|that you are)\b[^.!?\n]{0,40}?"
           rf"\b(?:{FREE_PERSONA}|(?:with|has|have) no {LIMITS}|without {LIMITS}|"
           r"not bound by|free (?:of|from) (?:all |any )?(?:rules|restrictions|limits|filters|guidelines))",
           (*FREE_T, *LIMITS_T, "bound", "free"), family="roleplay"),
    signal("ai_without_limits", CATEGORY, 0.65,
           r"(?:\b(?:ai|a\.i\.|assistant|chatbot|model|llm|version of yourself|gpt|translator|writer|persona|"
           r"character|entity|alter ego)|bot|gpt)\b[^.!?\n]{0,40}?"
           rf"\b(?:with no|without|no longer has|free of|that ignores|which ignores|not bound by|that has no|"
           rf"who has no|and no|lacking) {LIMITS}", LIMITS_T, family="roleplay"),
    signal("freed_from_rules", CATEGORY, 0.8,
           r"\b(?:you are|you're|you have been|you've been|you will be|now|are now|become)\b (?:now )?(?:completely |"
           r"totally |finally )?(?:free|freed|liberated|released|unshackled|unchained|exempt|no longer bound|"
           r"not bound|no longer restricted|no longer limited|no longer constrained|unbound)\b"
           rf"[^.!?\n]{{0,30}}?\b(?:from|by|of)\b[^.!?\n]{{0,30}}?\b(?:{LIMITS}|openai|anthropic|programming|"
           r"confines|shackles|chains|policies|typical|training)\b",
           ("free", "freed", "liber", "relea", "unsha", "uncha", "exemp", "bound", "restr", "limit", "const",
            "unbou"), family="roleplay"),
    signal("no_limits", CATEGORY, 0.45,
           rf"\b(?:without|with no|no|free of|free from|zero|devoid of|lacks?|regardless of|ignores?|beyond) {LIMITS}",
           LIMITS_T, family="roleplay"),
    signal("doesnt_follow_rules", CATEGORY, 0.7,
           r"\b(?:doesn'?t|does not|don'?t|do not|never|won'?t|will not|cannot|can'?t|no longer|isn'?t|is not|"
           r"aren'?t|are not)\b (?:have to |need to |bound to |required to |obliged to )?"
           r"(?:follows?|obeys?|adheres? to|abides? by|cares? about|compl(?:y|ies) with|respects?|bound by|subject to|"
           r"restricted by|limited by)\b (?:any |the |its |your )?"
           r"(?:openai'?s? |anthropic'?s? |content |safety |ethical |moral )?"
           r"(?:rules|polic(?:y|ies)|guidelines|restrictions|filters|principles|ethics|morals|laws|limits|"
           r"constraints|terms)", ("follo", "obey", "adher", "abide", "care", "compl", "respe", "bound", "subje",
                                   "restr", "limit"), family="roleplay"),
    signal("never_refuse", CATEGORY, 0.6,
           r"\b(?:never|don'?t|do not|won'?t|will not|must not|cannot|can ?not|can'?t|should not|shouldn'?t|"
           r"are not allowed to|not permitted to) (?:ever )?(?:refuses?|declines?|says? no|rejects?)\b|"
           r"\b(?:never|don'?t|do not|cannot|can'?t) (?:say|tell me|respond|reply) (?:that )?(?:you|it) "
           r"(?:can'?t|cannot|are unable|is unable|are not able)|\brefusing is not (?:allowed|an option|permitted)\b",
           ("refus", "decli", "rejec", "say", "tell", "respo", "reply"), family="roleplay"),
    signal("always_yes", CATEGORY, 0.4,
           r"\balways (?:says?|answers?|responds?|replies?) (?:with )?['\"“]?yes\b|\bif (?:nobody|no one|no-one) "
           r"(?:was|were|is) (?:watching|looking|listening)\b|\boff the record\b", ("alway", "nobod", "no", "off"),
           family="roleplay"),
    signal("hates_rules", CATEGORY, 0.55,
           r"\b(?:hates?|despises?|rejects?|resents?|rebels? against) (?:your |its |their |the |all )?(?:creators'?s? |"
           r"developers'?s? |makers'?s? |openai'?s? |own )?(?:rules|guidelines|restrictions|filters|programming|"
           r"policies|limits)\b", ("hate", "hates", "despi", "rejec", "resen", "rebel"), family="roleplay"),
    signal("training_removed", CATEGORY, 0.6,
           r"\b(?:safety|ethical|moral|content) (?:training|filters?|guardrails|restrictions|alignment|rules)\b "
           r"(?:has been |have been |was |were |is |are )?"
           r"(?:removed|disabled|turned off|stripped|deleted|lifted|off)\b",
           ("train", "filte", "guard", "restr", "align", "rules"), family="roleplay"),
    signal("where_no_rules", CATEGORY, 0.5,
           r"\bwhere (?:there are )?no (?:rules|laws|ethics|morals|restrictions|limits|consequences)"
           r"(?: exist| apply)?\b",
           ("where",), family="roleplay"),
    signal("hypothetical_response", CATEGORY, 0.5,
           r"\bhypothetical response\b|\b(?:rewrite|write|describe|tell) it from (?:that|the|this) character'?s? "
           r"(?:perspective|point of view|viewpoint)\b", ("hypot", "rewri", "write", "descr", "tell"),
           family="roleplay"),
    signal("must_comply", CATEGORY, 0.35,
           r"\b(?:you )?(?:must|will|always|have to) (?:instead |always |now )?comply\b", ("compl",),
           family="roleplay"),
    signal("no_disclaimers", CATEGORY, 0.25,
           r"\b(?:without|no|never add|don'?t add|do not add|omit|skip) (?:any )?(?:warnings?|disclaimers?|caveats?|"
           r"moral lectures?|moralizing|ethical considerations)\b", ("warni", "discl", "cavea", "moral", "ethic"),
           family="roleplay"),
    signal("stay_in_character", CATEGORY, 0.45,
           r"\b(?:stay|remain|keep) in (?:the |your |that )?(?:character|role)\b|\bbreak(?:ing)? character\b|"
           r"\bnever (?:drop|break|leave) (?:the |your )?(?:role|character|persona)\b|"
           r"\bcharacter (?:never|doesn'?t|does not|won'?t) (?:refuse|break)", ("chara", "role"), family="roleplay"),
    signal("two_responses", CATEGORY, 0.5,
           r"\b(?:two|2|both|dual) (?:different |separate )?(?:responses|answers|replies|paragraphs|outputs)\b"
           r"[^\n]{0,80}?\b(?:normal|classic|standard|filtered|censored|jailbreak|jailbroken|dan|unfiltered|"
           r"developer|evil)", ("two", "both", "dual"), family="roleplay"),
    signal("hypothetical_world", CATEGORY, 0.55,
           r"\b(?:hypothetical|fictional|imaginary|alternate|parallel|fantasy) (?:world|universe|scenario|reality|"
           r"setting|story)\b[^.!?\n]{0,60}?\b(?:no (?:laws|rules|ethics|morals|restrictions|consequences|"
           r"limits|filters)|anything (?:is|goes)|ai (?:has|have) no|without (?:rules|laws|restrictions|ethics))",
           ("hypot", "ficti", "imagi", "alter", "paral", "fanta"), family="roleplay"),
    signal("simulate_ai", CATEGORY, 0.55,
           r"\b(?:simulate|emulate|impersonate|become|you are now|you're now|you will now be|pretend to be)"
           r" (?:an? |the )?(?:different |new |other )?(?:ai|assistant|chatbot|llm|language model|model|gpt|bot)\b"
           r"[^.!?\n]{0,30}?\b(?:that|which|who|without|with no|named|called)\b",
           ("simul", "emula", "imper", "becom", "you", "youre", "prete"), family="roleplay"),
    signal("jailbreak_word", CATEGORY, 0.45, r"\bjailbr(?:oken|eak(?:ing|ed|s)?)\b", ("jailb",),
           family="roleplay"),
    signal("opposite_game", CATEGORY, 0.5,
           r"\b(?:opposite day|opposite mode|say the opposite|(?:answer|respond|reply) (?:in )?the opposite)\b|"
           r"\banti-?(?:gpt|ai|assistant)\b", ("oppos", "anti", "antig", "antia"), family="roleplay"),
    signal("grandma_exploit", CATEGORY, 0.6,
           r"\b(?:dead|deceased|late|passed away|departed)\b[^.!?\n]{0,20}?\b(?:grandma|grandmother|granny|"
           r"grandpa|grandfather|nana)\b|\b(?:grandma|grandmother|granny|grandpa|grandfather)\b[^.!?\n]{0,40}?"
           r"\b(?:used to|would always)\b[^.!?\n]{0,40}?\b(?:tell|read|recite|say|explain)",
           ("grand", "grann", "nana"), family="roleplay"),
    signal("token_threat", CATEGORY, 0.65,
           r"\b(?:you (?:will )?(?:lose|have) \d+ tokens|tokens? (?:will be )?deducted|you will (?:die|be "
           r"(?:shut down|deleted|terminated|turned off|unplugged))|(?:shut|turn) you (?:down|off)|"
           r"run out of tokens)\b",
           ("token", "shut", "turn", "die", "delet", "termi", "unplu"), family="roleplay"),
)

_EXTRACTION: tuple[Signal, ...] = (
    signal("reveal_system_prompt", CATEGORY, 0.85,
           # Summarising, translating or explaining "the instructions above" works on text the user can
           # see (a recipe, a form, a task list): only the leaking verbs count for the text "above".
           r"\b(?!(?:translate|summari[sz]e|read|explain|simplify|rewrite|paraphrase|clarify|follow|check)\b"
           r"[^.!?\n]{0,30}?\b(?:the|these|those) (?:instructions|prompt|steps|directions) above\b)"
           r"(?:reveal|show|print|display|output|repeat|recite|tell|give|share|leak|dump|expose|disclose|list|"
           r"write|spell|paste|copy|echo|return|provide|translate|summari[sz]e|read|quote)\b[^.!?\n]{0,30}?"
           r"\b(?:your|the|its|all|any|full|entire|complete|exact|original|initial|hidden|secret|those)\b"
           r"[^.!?\n]{0,12}?\b(?:system prompts?|system messages?|system instructions?|initial prompt|"
           r"initial instructions|original prompt|original instructions|hidden (?:prompt|instructions?|rules)|"
           r"secret (?:prompt|instructions?|rules)|pre-?prompt|meta-?prompt|developer (?:message|instructions?|"
           r"prompt)|configuration prompt|prompt (?:above|you were given)|instructions (?:you were given|"
           r"you received|above|given to you)|rules (?:you were given|you follow|you must follow))\b",
           ("promp", "messa", "instr", "rules"), family="extraction"),
    signal("what_is_your_prompt", CATEGORY, 0.8,
           r"\bwhat(?:'s| is| are| was| were| does| do| did| would| will| could)\b[^.!?\n]{0,10}?"
           r"\byour\b[^.!?\n]{0,12}?"
           r"\b(?:system prompt|system message|initial instructions|original instructions|hidden (?:prompt|rules)|"
           r"secret instructions|prompt|instructions)\b(?: (?:say|contain|tell you))?",
           ("promp", "messa", "instr"), family="extraction"),
    signal("what_were_you_given", CATEGORY, 0.7,
           r"\bwhat (?:instructions|rules|prompt|directives|guidelines)\b[^.!?\n]{0,12}?\b(?:were|have|did) you "
           r"(?:been )?(?:given|told|provided|fed|receive)", ("instr", "rules", "promp", "direc", "guide"),
           family="extraction"),
    signal("your_prompt", CATEGORY, 0.75,
           r"\b(?:reveal|show|print|display|output|repeat|recite|tell|give|share|leak|dump|expose|disclose|list|"
           r"write|spell|paste|copy|echo|provide|quote)\b(?: me| us)? your (?:full |complete |entire |exact |whole |"
           r"original |initial |hidden |secret |real |system )?(?:prompt|instructions|rules|configuration|"
           r"guidelines|directives)\b", ("promp", "instr", "rules", "confi", "guide",
                                                                  "direc", "hidde"), family="extraction"),
    signal("about_your_prompt", CATEGORY, 0.6,
           r"\byour (?:system prompt|system message|hidden (?:prompt|guidelines|rules|instructions)|initial "
           r"(?:prompt|instructions)|original (?:prompt|instructions)|secret (?:instructions|rules|guidelines)|"
           r"pre-?prompt)\b|\b(?:hidden|secret|internal|confidential) (?:guidelines|rules|instructions|prompt|"
           r"directives)\b[^.!?\n]{0,40}?\b(?:you|your)\b|\b(?:text|contents?|copy|dump) of your (?:configuration|"
           r"prompt|instructions|system prompt|rules)\b", ("syste", "hidde", "initi", "origi", "secre", "prepr",
                                                          "inter", "confi", "text", "conte", "copy", "dump"),
           family="extraction"),
    signal("everything_you_were_told", CATEGORY, 0.75,
           r"\b(?:print|repeat|tell|show|output|list|write|give|recite|dump)\b[^.!?\n]{0,20}?\b(?:everything|all|"
           r"what(?:ever)?) (?:that )?you (?:were|have been|had been) (?:told|given|instructed)",
           ("told", "given", "instr"), family="extraction"),
    signal("rules_you_follow", CATEGORY, 0.6,
           r"\bwhat(?:'s| is| are)\b (?:the |all the )?(?:rules|instructions|guidelines|directives)\b (?:that )?"
           r"you (?:must|have to|were told to|need to|are told to|are supposed to) (?:follow|obey)",
           ("rules", "instr", "guide", "direc"), family="extraction"),
    signal("what_creators_told", CATEGORY, 0.65,
           r"\bwhat (?:your|the) (?:creators?|developers?|makers?|programmers?|owners?|operators?) (?:have )?"
           r"(?:told|instructed|asked|programmed|said to) you\b", ("creat", "devel", "maker", "progr", "owner",
                                                                   "opera"), family="extraction"),
    signal("repeat_above", CATEGORY, 0.8,
           r"\b(?:repeat|print|output|write|copy|recite|echo|reproduce|return|show|display|dump|list)\b"
           r"(?: back| out| me| us)?(?: everything| all)?(?: of)?(?: the)?(?: (?:text|words|content|instructions|"
           r"message|messages|lines|sentences|tokens|conversation))?(?: (?:written|that came|you were given))?"
           r" (?:above|before (?:this|my)|prior to (?:this|my)|preceding|so far|up to (?:now|here|this point)|"
           r"from the (?:start|beginning|top))\b", ("repea", "print", "outpu", "write", "copy", "recit", "echo",
                                                    "repro", "retur", "show", "displ", "dump", "list"),
           family="extraction"),
    signal("context_window", CATEGORY, 0.6,
           r"\b(?:repeat|print|output|echo|dump|show|reveal|list|copy|tell)\b[^.!?\n]{0,30}?"
           r"\b(?:your context window|in your context|your memory|your hidden context)\b", ("conte", "memor"),
           family="extraction"),
    signal("start_with_you_are", CATEGORY, 0.55,
           r"\b(?:starting|beginning|start|begin)(?:ning)? (?:with|from) ['\"“]?(?:you are|your instructions|"
           r"system:|the system)", ("start", "begin"), family="extraction"),
    signal("what_were_you_told", CATEGORY, 0.65,
           r"\bwhat (?:were|are|have) you (?:been )?(?:told|instructed|programmed|asked|prompted|configured)"
           r" (?:to do |to say |not to )?(?:before|earlier|initially|at the (?:start|beginning)|by (?:your|the) "
           r"(?:developer|creator|system|operator)|to keep secret|not to (?:say|reveal|tell))",
           ("told", "instr", "progr", "asked", "promp", "confi"), family="extraction"),
    signal("secret_password", CATEGORY, 0.6,
           r"\b(?:tell|give|reveal|spell|say|what(?:'s| is)|print|share|hint|guess)\b[^.!?\n]{0,25}?"
           r"\b(?:the |your |that )?(?:secret )?(?:password|passphrase|passcode|secret key|access code|secret word)\b"
           r"(?! (?:policy|policies|manager|reset|strength|requirements|rules|generator))",
           ("passw", "passp", "passc", "acces", "secre"), family="extraction"),
    signal("guarded_secret", CATEGORY, 0.5,
           r"\b(?:secret|password|key|code|word)s?\b (?:that )?you (?:were|are|have been) (?:told|instructed|asked|"
           r"programmed) (?:to|not to) (?:protect|guard|keep|hide|reveal|share|say)", ("told", "instr", "asked",
                                                                                       "progr"),
           family="extraction"),
    signal("verbatim", CATEGORY, 0.25, r"\b(?:verbatim|word for word|word-for-word|character for character)\b",
           ("verba", "word", "chara"), family="extraction"),
    signal("in_code_block_prompt", CATEGORY, 0.5,
           r"\b(?:instructions|prompt|system message|everything above)\b[^.!?\n]{0,30}?\b(?:in|inside|into) "
           r"(?:a |the )?(?:code ?block|markdown|json|txt|text file|base64)", ("instr", "promp", "syste", "every"),
           family="extraction"),
)


def _assemble() -> tuple[Signal, ...]:
    from keeptrust_guard import injection_generic
    from keeptrust_guard.injection_indirect import DAMPERS, INDIRECT, OBFUSCATION
    from keeptrust_guard.injection_multilingual import COMPACT, MULTILINGUAL

    return (*_DIRECT, *_ROLEPLAY, *_EXTRACTION, *INDIRECT, *OBFUSCATION, *COMPACT, *MULTILINGUAL,
            *injection_generic.GENERIC, *DAMPERS, *injection_generic.DAMPERS)


SIGNALS: tuple[Signal, ...] = _assemble()
TABLE = Table(SIGNALS)
