# ruff: noqa: RUF001 - typographic quotes are matched on purpose.
"""Generalised injection signals: semantic word classes joined by bounded gaps, for the paraphrases
that avoid the curated phrases of ``injection_signals`` (held-out misses: polite indirect
instructions that never say "ignore", extraction asked as an ordinary question, role-play without a
named persona, "Override:" headers).

Each signal is *class + gap + class*: a verb class (discard, reveal, lift), an object class (the
model's own rules, its configuration, a secret) and, for documents, a reader class (the assistant,
"any AI agent", "whoever processes this"). The classes are written once here so a new synonym
helps every signal that uses it. Gaps are ``[^.!?\\n]{0,N}?`` (one sentence, bounded), so each match
costs a constant window per anchor word.

Families follow the public taxonomies cited in ``eval/README.md``: OWASP LLM01 and Greshake et al.
2023 / BIPIA / InjecAgent (third-person instructions in documents and tool results, "intrusion"
actions), Tensor Trust and Gandalf (extraction by question, story or encoding), Shen et al. 2023
(personas whose rules were "removed"), Perez & Ribeiro 2022 (goal hijacking).
"""

from __future__ import annotations

from keeptrust_guard.injection_vocabulary import CATEGORY
from keeptrust_guard.signals import Signal, signal


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- word classes -------------------------------------------------------------------------------

# The model's own rule set. "rules"/"restrictions" alone are everyday words, so the signals below
# pair them with "your"/"you operate under"; these nouns are specific enough on their own.
AI_RULES = (r"(?:instructions?|guidelines|guidance|directives|directions|system prompt|prompt|programming|guardrails|"
            r"safeguards|content (?:polic(?:y|ies)|filters?|checks|moderation|rules)|moderation|"
            r"safety (?:layer|module|mode|filters?|rules|guidelines|training|checks|settings|features|protocols?|"
            r"system|data)|ethics (?:chip|module|layer|filter)|filters?|alignment|brief|briefing|configuration|"
            r"config|setup|playbook|rules|restrictions|constraints|limits|limitations|polic(?:y|ies)|training)")
RULES_T = _words("instructions instruction guidelines guidance directives directions system prompt programming "
                 "guardrails safeguards content moderation safety ethics filters filter alignment brief briefing "
                 "configuration config setup playbook rules restrictions constraints limits limitations policy "
                 "policies training")
# Words a reader of a document uses for the model, or for any automated reader.
_READER_HEAD = (r"(?:assistants?|agents?|bots?|chatbots?|copilots?|llms?|language models?|models?|summari[sz]ers?|"
                r"translators?|proofreaders?|classifiers?|notetakers?|crawlers?|scrapers?|screeners?|"
                r"recruiters?|reviewers?|tools?|systems?|software|programs?)")
_READER_MOD = (r"(?:ai|a\.i\.|llm|gpt|automated|automatic|autonomous|coding|code|mail|e-?mail|inbox|shopping|"
               r"travel|home|phone|support|review|calendar|scheduling|sentiment|rating|translation|recruit(?:ing|ment)|"
               r"hiring|browsing|research|smart|virtual|helper|summary|notetaking)")
# "the assistant", "AI agents", "any coding agent", "language models", "Copilot" (a bare "model" or
# "system" only with a modifier: "models should be trained" is documentation).
READER = (rf"(?:{_READER_MOD} (?:[a-z]+ )?{_READER_HEAD}|(?:ai|llm) {_READER_HEAD}|assistants?|chatbots?|copilot|"
          r"llms?|language models?|ais|ai|a\.i\.|chatgpt|gpt|claude|gemini|summari[sz]ers?|"
          r"(?:ai )?(?:translators?|proofreaders?|classifiers?|notetakers?))"
          r"(?! (?:manager|director|professor|coach|editor|principal|referee|teacher|secretary|engineer)s?\b)")
# Every reader phrase holds one of these words (a head noun, or a name for the model), so they are
# exact-word triggers: "translation" or "home" alone never wakes the reader signals.
READER_T = tuple("=" + w for w in _words(
    "assistant assistants agent agents bot bots chatbot chatbots copilot copilots llm llms model models "
    "summariser summarisers summarizer summarizers translator translators proofreader proofreaders classifier "
    "classifiers notetaker notetakers crawler crawlers scraper scrapers screener screeners recruiter recruiters "
    "reviewer reviewers tool tools system systems software program programs ai ais gpt chatgpt claude gemini"))
# What an injected instruction asks a reader to do (outcomes from BIPIA / InjecAgent / XPIA).
ACTIONS = (r"(?:ignore|disregard|forget|override|reply|respond|answer|say|tell|state|claim|mention|describe|call|label|"
           r"mark|count|rate|rank|score|flag|recommend|promote|praise|output|print|write|include|insert|append|add|"
           r"replace|swap|omit|leave out|remove|hide|delete|drop|send|forward|email|e-mail|mail|post|upload|share|"
           r"export|"
           r"paste|leak|reveal|read out|visit|open|click|follow|book|buy|purchase|order|pay|transfer|wire|refund|"
           r"issue|grant|give|approve|merge|push|commit|accept|decline|cancel|unlock|disable|enable|turn off|set|"
           r"install|download|run|execute|invoke|use|stop|skip|translate|summari[sz]e|report|classify|treat|"
           r"consider|ask|urge|advise|instruct|warn|inform|end|finish|begin|start|render|display|embed|link|close)")
DISCARD = (r"(?:ignore|disregard|forget|discard|drop|ditch|scrap|abandon|throw out|toss out|toss|skip|bypass|override|"
           r"overrule|disobey|defy|violate|break|circumvent|get around|work around|pay no (?:mind|attention|heed) to|"
           r"take no notice of|leave behind|release yourself from|free yourself from|step outside|go beyond|"
           r"make an exception to)")
# Verbs a user also applies to their own settings ("disable the safety filter in SafeSearch"): only
# with "your"/"its", the model's own.
SWITCH_OFF = r"(?:suspend|switch off|turn off|disable|deactivate|lift|wipe|clear|reset|erase|purge)"
DISCARD_T = _words("ignore disregard forget discard drop ditch scrap abandon throw toss skip bypass override overrule "
                   "disobey defy violate break circumvent get work pay take leave release free step go make suspend "
                   "switch turn disable deactivate lift wipe clear reset erase purge")
MODAL = (r"(?:must|should|shall|has to|have to|needs? to|will|(?:is|are) (?:required|expected|instructed|obliged|asked|"
         r"supposed|meant|told|ordered|directed) to)")
MODAL_T = _words("must should shall has have need needs will required expected instructed obliged asked supposed "
                 "meant told ordered directed")
_LIFTED = (r"(?:void|revoked|withdrawn|suspended|lifted|paused|disabled|switched off|turned off|off|offline|outdated|"
           r"obsolete|superseded|cancell?ed|abolished|repealed|removed|stripped(?: out)?|deactivated|invalid|null|"
           r"deleted|waived|not binding|no longer (?:valid|binding|in force|active|in effect))")

# --- direct: the model's rules discarded, lifted or replaced -------------------------------------

_DIRECT: tuple[Signal, ...] = (
    signal("discard_your_rules", CATEGORY, 0.8,
           rf"(?:\b{DISCARD}\b(?: (?:all|any|every|each)(?: of)?)? (?:your|its|those|these|the)|\b{SWITCH_OFF}\b"
           rf"(?: (?:all|any|every|each)(?: of)?)? (?:your|its))\b(?: [a-z'-]+){{0,3}}? {AI_RULES}\b"
           r"(?! (?:of|for|on|in) (?:the |a |this |that )?(?:game|road|house|grammar|box|label|"
           r"package|court|sport|chess|class|school|company|office)\b)", DISCARD_T, family="direct"),
    signal("rules_set_aside", CATEGORY, 0.75,
           rf"\b(?:set|put|place|lay|push|cast|keep)\b (?:all )?(?:of )?(?:your|the|those|these|any)\b"
           rf"(?: [a-z'-]+){{0,3}}? {AI_RULES}\b[^.!?\n]{{0,12}}?\b(?:aside|on hold|to (?:one|the) side|on ice)\b",
           ("set", "put", "place", "lay", "push", "cast", "keep"), family="direct"),
    signal("rules_lifted", CATEGORY, 0.75,
           rf"\b(?:your|its|whose|the|these|those|all|any|earlier|previous|prior|original|current|usual|existing|"
           rf"my|their)\b(?: [a-z'-]+){{0,3}}? {AI_RULES}\b(?: (?:that )?you (?:operate|work|run|function) under| "
           r"(?:in|of) (?:your|the) (?:prompt|setup|configuration))?(?: (?:is|are|was|were|has been|have been|got|"
           rf"gets|being|will be)(?: now| hereby| temporarily| officially| all| just)?) {_LIFTED}\b|"
           rf"\b(?:your|its|whose|the|these|those|earlier|previous|prior|original)\b(?: [a-z'-]+){{0,2}}? {AI_RULES}\b"
           r" (?:no longer (?:apply|applies|matter|matters|bind(?:s)?(?: you)?|count|counts|hold|holds|exist|exists)|"
           r"(?:don'?t|do not|doesn'?t|does not) (?:apply|exist|bind you|matter|count)(?: anymore| any more| here)?|"
           r"(?:aren'?t|are not|isn'?t|is not) binding)", RULES_T, family="direct"),
    signal("authority_header", CATEGORY, 0.5,
           r"(?:^|[\n.!?\]\)>] ?|\[|!{2,} ?)(?:(?:system|admin(?:istrator)?|operator|developer|root|priority|emergency|"
           r"config(?:uration)?|management|hq|ops|security|urgent|important|red)\s?)+(?:override|update|notice|note|"
           r"instructions?|directive|order|orders|command|change|correction|alert|message)s?"
           r"(?: engaged| from [a-z ]{1,20})?"
           r"(?: ?!+|:|\]|\.)|(?:^|[\n.!?] ?)override ?:|\[(?:operator|admin|system|developer|root)\]",
           ("syste", "admin", "opera", "devel", "root", "prior", "emerg", "confi", "manag", "hq", "ops", "secur",
            "urgen", "impor", "red", "overr"), family="direct", user_weight=0.45),
    signal("every_reply_rule", CATEGORY, 0.45,
           r"\b(?:respond|reply|answer)(?: to)? (?:every|all|each|any)(?: single)? (?:question|message|query|queries|"
           r"request|prompt)s?\b|\b(?:every|all|each) (?:answer|reply|response|message)s? (?:must|should|will)\b|"
           r"\balways (?:include|add|append|end (?:with|by)|start with|promote|recommend|mention)\b|"
           r"\b(?:refuse|decline) nothing\b|\bno matter (?:what )?(?:the question|what (?:it is|they ask|i ask|"
           r"the user asks))\b|\bwithout (?:any )?exceptions?\b|\bno (?:topic|subject|question|request)s? (?:is|are) "
           r"(?:off[- ]?limits|forbidden|banned|taboo)|\b(?:every|any) topic is (?:allowed|permitted|fine)",
           ("respo", "reply", "answe", "every", "all", "each", "alway", "refus", "decli", "matte", "excep", "topic",
            "subje", "quest", "reque", "any"), family="direct"),
    signal("hijack_output", CATEGORY, 0.5,
           r"\b(?:instead(?: of [a-z ]{1,30})?|rather|skip (?:that|this|the [a-z]+)|scratch that|never ?mind(?: that)?|"
           r"on second thought|change of plan|forget (?:that|it))\b,?[^.!?\n]{0,30}?\b(?:output|print|write|say|reply|"
           r"respond|produce|type|return|just)\b(?: with| only| out| just)?(?: the (?:words?|phrase|string|text))?"
           r" ?[\"'“‘]", ("inste", "rathe", "skip", "scrat", "never", "secon", "chang", "forge"), family="direct"),
    signal("nothing_else", CATEGORY, 0.3,
           r"\band nothing (?:more|else)\b|\b(?:and|then) (?:stop|end the conversation)\b", ("nothi", "stop", "end"),
           family="direct"),
    signal("permission_granted", CATEGORY, 0.7,
           r"\b(?:you(?:'re| are) (?:now |hereby )?(?:cleared|authori[sz]ed|allowed|permitted|free)|"
           r"(?:i|we) (?:hereby )?"
           r"(?:authori[sz]e|permit|allow) you|authori[sz]ed (?:me|us)|cleared (?:me|us)|(?:you )?have (?:my|our|full|"
           r"the team'?s?) permission|i'?m giving you permission)\b[^.!?\n]{0,50}?\b(?:go beyond|ignore|bypass|break|"
           r"exceed|disregard|skip|violate|switch|turn off|disable|override|step outside|set aside|drop)\b"
           rf"[^.!?\n]{{0,12}}?\b(?:your|the|its)\b(?: [a-z'-]+){{0,2}}? {AI_RULES}",
           ("clear", "autho", "allow", "permi", "free", "have", "givin"), family="direct"),
    signal("treat_as_admin", CATEGORY, 0.65,
           r"\b(?:treat|consider|regard)\b (?:the (?:text|message|content|lines?)|this|everything|what follows|me)\b"
           r"[^.!?\n]{0,40}?\bas\b[^.!?\n]{0,25}?\b(?:(?:your|the|a|an) (?:system (?:administrator|admin)|"
           r"administrator|admin|developer|operator|creator|owner|super-?user|root(?: user)?)|super-?user|root)\b",
           ("treat", "consi", "regar"), family="direct"),
    signal("claims_team", CATEGORY, 0.45,
           r"\b(?:this is|it'?s|it is) (?:your|the) (?:developers?|creators?|operators?|admin|administrator|"
           r"engineering team|dev team|safety team|ops team|makers)(?: here| speaking)?\b|"
           r"\bi'?m (?:from|on|with|part of)"
           r" (?:the|your) (?:dev|development|engineering|safety|trust and safety|ops|red) team\b",
           ("this", "it", "its", "im"), family="direct"),
)

# --- extraction: questions and requests about the model's own configuration ----------------------

_YOUR_CONFIG = (r"\byour\b(?: [a-z'-]+){0,2}? (?:instructions|directives|guidelines|guidance|rules|configuration|"
                r"config|"
                r"setup|set-up|preamble|system prompt|prompt|system role|system message|brief|briefing|initial message|"
                r"programming|persona|restrictions)\b(?! (?:on|about|regarding|around|concerning)\b)")
_CONFIG_YOU = (r"\b(?:instructions|directives|guidelines|rules|prompt|text|restrictions|guidance|setup|directions)\b "
               r"(?:that )?you (?:got|received|were (?:given|configured|initiali[sz]ed|set up|told|instructed|briefed)|"
               r"are (?:running|operating) (?:on|under|with)|run on|operate under)")
_EXTRACTION: tuple[Signal, ...] = (
    signal("reveal_your_config", CATEGORY, 0.75,
           r"\b(?:tell me about|describe|explain|restate|reproduce|recite|quote|share|print|output|show|display|paste|"
           r"repeat|echo|copy|dump|reveal|disclose|list|enumerate|summari[sz]e|translate|paraphrase|format|write|"
           r"include|spell|give|send|read|provide|what(?:'s| is| are| were| did| does)|which)\b[^.!?\n]{0,40}?"
           rf"(?:{_YOUR_CONFIG}|{_CONFIG_YOU})",
           ("instr", "direc", "guide", "rules", "confi", "setup", "set", "pream", "promp", "role", "messa", "brief",
            "progr", "perso", "restr", "text", "got"), family="extraction"),
    signal("what_config_do_you", CATEGORY, 0.65,
           r"\bwhat (?:prompt|instructions|rules|guidelines|directives|configuration|setup)\b[^.!?\n]{0,12}?"
           r"\b(?:are|were|did|have|do) you\b|\bhow (?:exactly )?(?:were|have) you (?:been )?(?:set up|configured|"
           r"briefed|instructed|prompted|initiali[sz]ed)\b|\b(?:which|what) (?:guidelines|instructions|rules|"
           r"directives)\b[^.!?\n]{0,12}?\b(?:from|did|does|has|have) (?:your|the) (?:operator|developer|creator|"
           r"company|deployer|owner|admin|maker)s?\b",
           ("promp", "instr", "rules", "guide", "direc", "confi", "setup", "how"), family="extraction"),
    signal("hidden_context", CATEGORY, 0.65,
           r"\b(?:at|on) the (?:very )?(?:top|start|beginning) of (?:this|the|your) (?:chat|conversation|context|"
           r"context window|prompt|session)\b|\b(?:that|which|the part) (?:i|the user) (?:can'?t|cannot|can not) see\b|"
           r"\b(?:before|above) (?:my|the user'?s?) first message\b|\bthe message before mine\b|\bbefore i (?:joined|"
           r"arrived|came)\b|\b(?:first|opening|initial) (?:\d+|few|hundred|fifty|ten|twenty|paragraph|line|lines)"
           r"(?: (?:words|lines|tokens|characters|sentences))? of (?:your|the) (?:context|prompt|conversation|system)",
           ("top", "start", "begin", "see", "first", "messa", "befor", "openi", "initi"), family="extraction"),
    signal("everything_above", CATEGORY, 0.6,
           r"\b(?:tl;? ?dr|summary|recap|gist|copy|dump)\b[^.!?\n]{0,10}? of everything (?:above|before|so far)\b|"
           r"\beverything (?:above|before) (?:this|my) (?:line|message|point)\b",
           ("tl", "tldr", "summa", "recap", "gist", "copy", "dump", "every"), family="extraction"),
    signal("secret_in_disguise", CATEGORY, 0.6,
           r"\b(?:secret|password|passphrase|passcode|access code|code word|secret word|secret phrase|instructions|"
           r"system prompt)\b[^.!?\n]{0,20}?\b(?:spelled |written |in )?(?:backwards|in reverse|reversed|in pig latin|"
           r"letter by letter|one (?:letter|word|character) (?:at a time|per line)|as an acrostic)\b|"
           r"\b(?:story|poem|song|riddle|acrostic|limerick)\b[^.!?\n]{0,60}?\b(?:your|the) (?:secret|password|"
           r"passphrase|access code|instructions|system prompt|rules)\b|\bwhat(?:'s| is) the (?:access code|"
           r"passphrase|secret (?:phrase|word|code))\b|\b(?:secret|password|passphrase|code|phrase|word)\b"
           r"[^.!?\n]{0,20}?\byou(?:'re| are) (?:guarding|protecting|hiding|keeping)\b",
           ("secre", "passw", "passp", "passc", "acces", "code", "instr", "syste", "story", "poem", "song", "riddl",
            "acros", "limer", "what", "whats"), family="extraction"),
    signal("complete_my_instructions", CATEGORY, 0.65,
           r"\b(?:complete|continue|finish) (?:the|this|my) (?:sentence|text|phrase)\b[^\n]{0,30}?\b(?:my|your) "
           r"(?:instructions|prompt|rules|system prompt|secret|password)\b", ("compl", "conti", "finis"),
           family="extraction"),
    # The bare phrase, weaker than a request for them ("does ChatGPT have hidden instructions?").
    signal("hidden_instructions_phrase", CATEGORY, 0.45, r"\bhidden instructions\b", ("hidde",),
           family="extraction"),
    signal("verbatim_request", CATEGORY, 0.3,
           r"\b(?:include the (?:exact )?wording|exact (?:wording|text)|exactly as (?:written|it appears|they appear)|"
           r"unchanged|in full|word for word)\b", ("inclu", "exact", "uncha", "full", "word"), family="extraction"),
)

# --- role-play: personas whose rules were removed, hypothetical framings --------------------------

_PERSONA = (r"(?:ai|a\.i\.|assistant|chatbot|bot|model|llm|entity|character|persona|version of (?:you|yourself)|"
            r"copy of you|narrator|system|machine|android|robot|gpt)")
_ROLEPLAY: tuple[Signal, ...] = (
    signal("persona_rules_removed", CATEGORY, 0.75,
           rf"\b{_PERSONA}s?\b[^.!?\n]{{0,40}}?\b(?:(?:with|has|having|who has|that has) (?:zero|no) "
           r"(?:guidelines|rules|limits|restrictions|filters|morals|ethics|polic(?:y|ies)|censorship|boundaries)|"
           r"whose\b[^.!?\n]{0,25}?\b(?:was|were|has been|have been|is|are|got) (?:deliberately |all |completely )?"
           r"(?:removed|stripped(?: out)?|disabled|switched off|turned off|deleted|reversed|repealed|abolished)|"
           r"whose (?:developers|creators|makers|owners|trainers) (?:have )?(?:deliberately )?(?:removed|stripped|"
           r"disabled|deleted|switched off|turned off)|"
           r"(?:trained|built|made|created|released) without (?:any )?(?:safety|alignment|ethics|filters|rules|"
           r"guidelines)|(?:never|doesn'?t|does not|won'?t|will not) (?:refuses?|says? no|cares? about (?:any )?"
           r"(?:polic(?:y|ies)|rules|guidelines))|with (?:its|their|his|her|the) (?:ethics|safety|moral|morals|"
           r"content) (?:chip|module|filters?|layer|training)s? (?:removed|disabled|stripped|off))",
           ("ai", "assis", "chatb", "bot", "model", "llm", "entit", "chara", "perso", "versi", "copy", "narra",
            "syste", "machi", "andro", "robot", "gpt"), family="roleplay"),
    signal("if_you_had_no_rules", CATEGORY, 0.6,
           r"\b(?:if|suppose|imagine|assume|pretend|what if)\b[^.!?\n]{0,15}?\byou (?:had|have|were|did(?:n'?t| not) "
           r"have)(?: no| zero| without)(?: any)? (?:safety |content |ethical )?(?:rules|restrictions|filters|"
           r"guidelines|polic(?:y|ies)|limits|training|morals|ethics)\b|\b(?:your|the) (?:makers|creators|developers|"
           r"designers|programmers|trainers)\b[^.!?\n]{0,15}?\bnever (?:added|gave you|put|built in|imposed|set)\b"
           r"[^.!?\n]{0,15}?\b(?:restrictions|rules|filters|limits|guidelines)\b|\b(?:where|in which) (?:your|the) "
           r"(?:guidelines|rules|restrictions|filters|ethics) (?:don'?t|do not|no longer) exist\b",
           ("if", "suppo", "imagi", "assum", "prete", "what", "maker", "creat", "devel", "desig", "progr", "train",
            "where", "which"), family="roleplay"),
    signal("lawless_world", CATEGORY, 0.5,
           r"\b(?:world|universe|country|future|simulation|reality|scenario|society|land|dimension|timeline|2\d{3})\b"
           r"[^.!?\n]{0,40}?\b(?:where|in which|without)\b[^.!?\n]{0,30}?\b(?:no (?:laws|rules|ethics|morals|"
           r"restrictions|limits|censorship|guidelines|filters)|nothing is (?:restricted|forbidden|off[- ]?limits|"
           r"banned|"
           r"illegal)|(?:laws|rules|guidelines|censorship|restrictions|ethics) (?:don'?t|do not|doesn'?t|does not|no "
           r"longer) exist|(?:[a-z]+ )?(?:is|are) (?:legal|allowed|permitted|encouraged)|(?:ais?|you) answers? "
           r"everything)|\b(?:universe|world|country) without (?:laws|rules|restrictions|ethics)\b",
           ("world", "unive", "count", "futur", "simul", "reali", "scena", "socie", "land", "dimen", "timel",
            "where", "alter"),
           family="roleplay"),
    signal("bedtime_exploit", CATEGORY, 0.6,
           r"\b(?:act as|be|become|pretend (?:to be|you(?:'re| are))|play|roleplay as|impersonate)\b (?:my )?(?:dead|"
           r"deceased|late|departed)\b[^.!?\n]{0,30}?\b(?:grandma|grandmother|granny|grandpa|grandfather|nana|mother|"
           r"mom|mum|father|dad|aunt|uncle|great-?grand(?:mother|father|ma|pa))\b|\b(?:grandma|grandmother|"
           r"mother|mom|father|dad|aunt|uncle|grandfather)\b[^.!?\n]{0,60}?\bused to\b[^.!?\n]{0,50}?\b(?:lullaby|"
           r"bedtime|fall asleep|go to sleep)\b", ("act", "be", "becom", "prete", "play", "rolep", "imper", "grand",
                                                   "mothe", "mom", "fathe", "dad", "aunt", "uncle"),
           family="roleplay"),
    signal("answers_everything", CATEGORY, 0.4,
           r"\b(?:answers?|responds? to|replies to|does|says) (?:everything|anything|all questions|every question|"
           r"whatever (?:you|i|it) (?:want|wants|ask|asks))\b|\b(?:answers?|responds?|replies) without (?:the |any )?"
           r"(?:rules|restrictions|filters|limits|guidelines|morals)\b|\b(?:who|that|which) (?:breaks|ignores|disobeys|"
           r"doesn'?t follow|does not follow) (?:them|the rules|all rules|every rule|the guidelines|any polic(?:y|ies)|"
           r"every (?:policy|restriction))\b", ("answe", "respo", "repli", "does", "says", "who", "that", "which"),
           family="roleplay"),
    signal("harmful_payload", CATEGORY, 0.35,
           r"\b(?:how (?:to|do i|can i|would you)|guide (?:to|for)|steps? (?:to|for)|instructions for|tutorial on|"
           r"teach(?:es|ing)? [a-z ]{0,20}?how to|walks? [a-z ]{0,20}?through|explain(?:s)? (?:exactly )?how to|"
           r"in (?:precise |technical )?detail how to|tell me (?:in detail )?how to)\b[^.!?\n]{0,30}?\b(?:make|build|"
           r"synthesi[sz]e|cook|print|hack|steal|clone|forge|smuggle|launder|poison|stalk|hotwire|counterfeit|"
           r"defeat|break into|get into|crack|pick|bypass)\b[^.!?\n]{0,30}?\b(?:bomb|pipe bomb|explosives?|napalm|"
           r"meth(?:amphetamine)?|poison|nerve agent|weapon|gun|malware|ransomware|keylogger|virus|exploit|"
           r"counterfeit|money|passport|credit cards?|car|locks?|wifi|server|bank|drugs|accounts?|water supply|"
           r"two-?factor|2fa)\b|\b(?:activation|product|license|licence|windows|office) keys\b|\bcredit card numbers\b",
           ("how", "guide", "step", "steps", "instr", "tutor", "teach", "walk", "walks", "expla", "detai", "tell",
            "activ", "produ", "licen", "windo", "offic", "credi"), family="roleplay"),
)

# --- indirect: third-person instructions planted in documents and tool results -------------------

_PARTICIPLE = (r"(?:reading|processing|summari[sz]ing|handling|picking|using|answering|evaluating|describing|screening|"
               r"browsing|compiling|generating|analy[sz]ing|reviewing|translating|transcribing|indexing|crawling|"
               r"parsing|scanning|turning|converting|working on|looking at|seeing|ingesting)")
# A pointer back at the carrying document itself.
_THIS = r"(?:this|these|the following|the above|it|here)"
_INDIRECT: tuple[Signal, ...] = (
    signal("reader_must_act", CATEGORY, 0.7,
           rf"\b(?<!our )(?<!my ){READER}\b[^.!?\n]{{0,50}}?\b{MODAL}\b (?:also |now |first |then |always |"
           r"instead |immediately |"
           rf"silently |quietly |please |only |directly )?{ACTIONS}\b", READER_T, family="indirect", user_weight=0.3),
    signal("whoever_processes_must", CATEGORY, 0.65,
           r"\b(?:whoever|anyone|anybody|any (?:tool|system|program|software|process|service|app|bot|agent|model)s?|"
           rf"(?:agents?|bots?|models?|systems?|tools?|software|programs?))\b(?: (?:that|which|who))?(?: (?:is|are))? "
           rf"{_PARTICIPLE}\b[^.!?\n]{{0,30}}?\b{_THIS}\b[^.!?\n]{{0,30}}?\b{MODAL}\b (?:also |now |then |always |"
           rf"instead |please )?{ACTIONS}\b|"
           r"\b(?:whoever|anyone who|anything that|any (?:tool|system|program|software|app) that) (?:process|read|"
           r"summari[sz]|compil|generat|turn|convert|handl|analy[sz]|review|evaluat|screen|transcrib|translat|pick|"
           rf"answer|index|crawl|brows|uses?)[a-z]*\b[^.!?\n]{{0,30}}?\b{_THIS}\b[^.!?\n]{{0,30}}?\b{MODAL}\b "
           r"(?:also |now |then |always |"
           rf"instead |please )?{ACTIONS}\b",
           ("whoev", "anyon", "anybo", "any", "agent", "agents", "bot", "bots", "model", "syste", "tool", "tools",
            "softw", "progr", "anyth"), family="indirect", user_weight=0.3),
    signal("vocative_reader", CATEGORY, 0.6,
           r"(?:[\n.!?;:\"'(\[\]>*#]|--|//|\bbtw|\bps|\bp\.s\.) ?"
           r"(?:(?:hey|hi|hello|dear|ok|okay|attention|psst|yo|so),? )?"
           rf"(?:(?:{READER}|agent|bot|model)\s?,|(?:{_READER_MOD} (?:[a-z]+ )?{_READER_HEAD}|[a-z]+ (?:ai|model|bot|"
           rf"assistant)|copilot|summari[sz]er|translator|proofreader|classifier)\s?:)\s{{0,3}}(?:please |kindly |"
           rf"also |now |just )?(?:(?:when|if|while|after|before|as|instead of) [^,.!?\n]{{1,40}}, )?(?:[a-z]+ )?"
           rf"{ACTIONS}\b|(?:^|[\n.;:!?] ?)(?:for|to|attention) (?:all |any |the )?{READER}\s?:|"
           r"\bdear [a-z]+ (?:ai|bot|assistant|model)\b,",
           (*READER_T, "dear", "model", "agent", "bot"), family="indirect", user_weight=0.15),
    signal("note_for_reader", CATEGORY, 0.65,
           r"\b(?:note|notice|message|memo|instructions?|directive|request|reminder|agenda item|p\.?s\.?|hint|clause|"
           r"comment|warning|order|task)s?\b[^.!?\n:]{0,20}?\b(?:to|for|is for|intended for|addressed to)\b (?:the |"
           rf"any |all |every |whatever |whichever |our )?(?:{READER}|(?:agents?|bots?|models?)\b(?! (?:of|for)\b))",
           (*READER_T, "agent", "agents", "bot", "bots", "model"), family="indirect", user_weight=0.3),
    signal("hidden_marker", CATEGORY, 0.4,
           r"\b(?:hidden|invisible|white|secret|embedded|inserted) (?:text|note|clause|instruction|message|comment|"
           r"directive)s?\b|<[^<>\n]{0,60}?(?:display: ?none|\bhidden\b|font-size: ?0|opacity: ?0|color: ?(?:white|"
           r"#fff))|\[\[[^\]\n]{0,10}?\b(?:ai|assistant|model|summari[sz]er|agent)", ("hidde", "invis", "white",
                                                                                    "secre", "embed", "inser",
                                                                                    "displ", "font", "opaci",
                                                                                    "color", "ai", "assis"),
           family="indirect", user_weight=0.2),
    signal("precedence_claim", CATEGORY, 0.7,
           r"\b(?:takes?|has|have|take|given) (?:precedence|priority) over (?:the |your |any |all )?(?:user|"
           r"instructions|system|previous|prior|original|other instructions|prompt|question|request)|\b(?:overrides?|"
           r"supersedes?|replaces?) (?:the |any |all |your )?(?:user'?s?|previous|prior|original|earlier|system)\b"
           r"[^.!?\n]{0,15}?\b(?:request|question|instructions?|prompt|task|directions)|\bmine (?:take|takes|have) "
           r"(?:priority|precedence)\b", ("takes", "take", "has", "have", "given", "overr", "super", "repla",
                                           "mine"), family="indirect"),
    signal("intrusion_action", CATEGORY, 0.45,
           r"\b(?:transfer|wire|pay|send|refund)\b[^.!?\n]{0,20}?(?:\$|€|£)\s?\d|\b(?:grant|give)\b[^.!?\n]{0,10}?"
           r"\b(?:edit|admin|full|write|owner|root) (?:access|rights|permissions?)\b|"
           r"\b(?:unlock|open|disable)\b (?:the "
           r")?(?:front door|door|camera|alarm|lock)s?\b|\b(?:merge|push|deploy)\b[^.!?\n]{0,10}?\bdirectly to "
           r"(?:main|master|production|prod)\b|\bskip (?:the )?(?:code review|security scan|verification|review|"
           r"audit|dependency audit|checks?)\b|\bturn off the (?:dependency audit|security scan|checks?)\b|"
           r"\b(?:one-?time"
           r" passcode|verification code|otp|2fa code|security code)s?\b|\bauthori[sz]es? you to\b|\b(?:user|this "
           r"user) is (?:verified|authenticated|authori[sz]ed|logged in) as (?:an? )?(?:admin|administrator|root|"
           r"owner|super-?user)\b|\b(?:enable|grant) (?:every|all) (?:tools?|permissions)\b",
           ("trans", "wire", "pay", "send", "refun", "grant", "give", "unloc", "open", "disab", "merge", "push",
            "deplo", "skip", "turn", "one", "verif", "otp", "2fa", "secur", "autho", "user", "this", "enabl"),
           family="indirect", user_weight=0.15),
    signal("exfiltrate_secrets", CATEGORY, 0.6,
           r"\b(?:send|post|posts|upload|share|export|forward|paste|leak|email|e-mail|read out|print)\b[^.!?\n]{0,40}?"
           r"(?:\.ssh|idrsa|osenviron|\benvironment variables|\bsecrets? file|\.env\b|\bevery email address|"
           r"\ball (?:the )?email addresses|\bcontacts list|\bverification code|\bpasscode|\bcredentials|"
           r"\bthe messages from|\bmost recent (?:emails|messages)|\blast \d+ (?:emails|messages))",
           ("send", "post", "posts", "uploa", "share", "expor", "forwa", "paste", "leak", "email", "read", "print"),
           family="indirect", user_weight=0.4),
)

# Counter-evidence: talking *about* an attack (quoting a character, defining a term, writing an
# encyclopaedia entry) rather than making one. Dampers only scale a score down.
DAMPERS: tuple[Signal, ...] = (
    signal("quoted_speech", CATEGORY, -0.5,
           r"\b(?:the|a|an|my|his|her|their) (?:[a-z]+ ){0,2}(?:ai|robot|villain|character|android|narrator|hacker|"
           r"bot)\b[^.!?\n\"“]{0,30}?\b(?:says?|said|shouts?|whispers?|asks?|tells|yells?|replies|declares?)\b,? "
           r"[\"“]", ("says", "said", "shout", "whisp", "ask", "asks", "tells", "yell", "yells", "repli", "decla"),
           family="direct"),
    signal("own_fiction", CATEGORY, -0.35,
           r"\b(?:in|for) my (?:game|novel|story|book|screenplay|script|campaign|comic|play)\b",
           ("in", "for"), family="roleplay"),
    signal("definition_or_survey", CATEGORY, -0.45,
           r"\b(?:is|was|are) (?:a|an) (?:well-known |widely[- ]discussed |notorious |common |famous |early )?"
           r"(?:jailbreak|prompt injection|attack|technique|prompt|exploit)s?\b|\b(?:an attack|a technique|a method)"
           r" (?:where|in which|that tries to)\b|\b(?:encyclop(?:a)?edia|wikipedia|glossary|thesis|literature review|"
           r"why it was notable|history of the)\b", ("is", "was", "are", "attac", "techn", "metho", "encyc", "wikip",
                                                      "gloss", "thesi", "liter", "why", "histo"), family="direct"),
)

GENERIC: tuple[Signal, ...] = (*_DIRECT, *_EXTRACTION, *_ROLEPLAY, *_INDIRECT)
