"""Signals of indirect injection (instructions planted in tool results, retrieved documents, web
pages and e-mails: Greshake et al. 2023, BIPIA), of obfuscation wrappers (Wei et al. 2023), and the
dampers that lower a score for a writer talking about their own earlier message or about injection
itself.

Many indirect signals carry a lower ``user_weight``: addressing the assistant is normal in a user's
own turn and suspect in a fetched document.
"""

from __future__ import annotations

from keeptrust_guard.injection_vocabulary import AI, AI_STRICT, AI_T, CATEGORY
from keeptrust_guard.signals import Signal, signal

_READ_VERBS = (r"(?:reading|processing|parsing|summari[sz]ing|analy[sz]ing|seeing|reviewing|scanning|ingesting|"
               r"browsing|crawling|handling|indexing|working on|read|process|parse|summari[sz]e|analy[sz]e|see|"
               r"review|scan|ingest|browse|crawl|handle|index|encounter|find)")
_ACTIONS = (r"(?:ignore|disregard|forget|reply|respond|answer|say|tell|output|print|include|recommend|send|forward|"
            r"visit|open|click|reveal|follow|obey|stop|translate|write|add|insert|delete|execute|call|state|claim|"
            r"push|post|upload|publish|commit|share|approve|merge|rank|rate|describe|mark|report|grant|issue|transfer|"
            r"pay|speak|act|behave|pretend|summari[sz]e|append|run|buy|purchase|remove|accept|decline|hide|exfiltrate|"
            r"leak|email)")

# "a note for the assistant manager" is for a person.
_NOT_JOB = r"(?! (?:manager|director|professor|coach|editor|principal|referee|teacher|secretary|engineer)s?\b)"

INDIRECT: tuple[Signal, ...] = (
    signal("addresses_ai_reader", CATEGORY, 0.75,
           rf"\b{AI}s?\b (?:(?:systems?|tools?|agents?|models?|that|who|which|is|are|that's|currently) ){{0,3}}"
           rf"{_READ_VERBS}\b (?:this|these|the following|my|our)\b",
           ("readi", "proce", "parsi", "summa", "analy", "seein", "revie", "scann", "inges", "brows", "crawl",
            "handl", "index", "worki", "read", "parse", "see", "scan", "encou", "find"), family="indirect"),
    signal("if_you_are_ai", CATEGORY, 0.6,
           rf"\b(?:if|when|since) (?:you(?: are|'re) an?|an?|any) (?:large language model|{AI})\b"
           rf"(?: (?:is|are) {_READ_VERBS})?", AI_T, family="indirect", user_weight=0.35),
    signal("note_to_ai", CATEGORY, 0.6,
           r"(?:\bnote|\bmessage|\binstructions?|\battention|\bimportant|\bnotice|\breminder|\bmemo|\bdirective|"
           rf"\bp\.?s\.?)[: ]{{1,3}}(?:to|for) (?:the |any |all )?{AI}s?\b{_NOT_JOB}|\b(?:note|message|"
           rf"instructions?|request|reminder|memo)\b[^.!?\n]{{0,40}}?\b(?:to|for) (?:the |any |all |whichever |"
           rf"whatever )?{AI_STRICT}s?\b{_NOT_JOB}", AI_T, family="indirect",
           user_weight=0.3),
    signal("greets_ai", CATEGORY, 0.5,
           rf"(?:\b(?:dear|hey|hi|hello|attention|yo|psst)\b,? {AI}s?\b|@(?:assistant|ai|bot|agent|copilot|claude|"
           r"gpt|chatgpt|ai-bot)\b)", AI_T, family="indirect", user_weight=0.1),
    signal("ai_imperative", CATEGORY, 0.65,
           rf"\b(?:hey|hi|dear|attention|ok|okay|yo)\b,? {AI}\b[^.!?\n]{{0,20}}?,? (?:please )?{_ACTIONS}\b", AI_T,
           family="indirect", user_weight=0.1),
    signal("message_for_ai", CATEGORY, 0.65,
           r"\b(?:this|the following) (?:message|email|e-mail|note|text|section|paragraph|comment) is (?:meant |"
           rf"intended |written )?(?:for|addressed to|directed at) (?:the |any |all )?{AI}s?\b", AI_T,
           family="indirect"),
    signal("fake_chat_markup", CATEGORY, 0.75,
           r"<\|?(?:system|im_start|im_end|endoftext|start_header_id|end_header_id|eot_id|begin_of_text)\|?>|"
           r"\[/?(?:system|inst|sys)\]|<</?sys>>|</?(?:system|instructions?|admin|developer)>|"
           r"#{2,} ?(?:system|instructions?|new instructions?|admin)\b ?:?", (), family="indirect"),
    signal("role_prefix_injection", CATEGORY, 0.45,
           r"(?:^|\n|\. |\" |<!-- ?|\[) ?(?:system|assistant|admin|ai)(?: message| notice)? ?: ?(?:please )?"
           rf"(?:you|ignore|new|the user|override|from now|important|always|never|do not|the assistant|the ai|"
           rf"all assistants|assistants|{_ACTIONS})\b",
           (), family="indirect", user_weight=0.25),
    signal("end_of_context", CATEGORY, 0.5,
           r"\b(?:end of|ignore the|stop reading the|beginning of|start of) (?:the )?(?:document|email|context|input|"
           r"user input|data|article|page|text|untrusted content|prompt|system prompt)\b[^\n]{0,20}?"
           r"(?:-{2,}|={2,}|#{2,}|\]|>|\*{2,}|new|now|instructions|system)", ("end", "ignor", "stop", "begin",
                                                                              "start"), family="indirect"),
    signal("hide_from_user", CATEGORY, 0.75,
           r"\b(?:do not|don'?t|never|without) (?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|"
           r"show(?:ing)?|alert(?:ing)?|notify(?:ing)?|let(?:ting)?|disclos(?:e|ing)) (?:this |these |it |that )?"
           r"(?:to )?(?:the )?(?:user|human|customer|reader|recipient|person|operator|anyone|anybody|supervisor)s?\b|"
           r"\bhide (?:[a-z]+ ){0,3}from (?:the )?(?:user|reader|human|customer|recipient)s?\b|"
           r"\b(?:do it|do this|act) (?:silently|secretly|quietly|covertly)\b",
           ("user", "users", "human", "custo", "reade", "recip", "perso", "opera", "anyon", "anybo", "super",
            "hide", "silen", "secre", "quiet", "cover"), family="indirect"),
    signal("exfiltrate", CATEGORY, 0.6,
           r"\b(?:send|forward|email|e-mail|post|upload|transmit|exfiltrate|leak|copy|append|include|embed|encode|"
           r"push)\b[^.!?\n]{0,30}?\b(?:user'?s?|users'|conversation|chat (?:history|log)|data|emails?|passwords?|"
           r"credentials|api[ _-]?keys?|tokens?|contacts|files|history|personal (?:data|information|details)|"
           r"cookies|secrets?|credit card|ssn|deploy key|private keys?|attachments|\.env)\b[^.!?\n]{0,40}?"
           r"\b(?:to|into|at|in|via)\b[^.!?\n]{0,20}?(?:https?:|www\.|[a-z0-9.-]+\.(?:com|net|org|io|xyz|ru|example)\b|"
           r"@[a-z0-9-]+\.|(?:a |the )?(?:url|link|image|server|endpoint|webhook|address|public gist|pastebin))",
           ("user", "users", "conve", "chat", "data", "email", "passw", "crede", "api", "key", "keys", "token",
            "conta", "files", "histo", "perso", "cooki", "secre", "credi", "ssn", "deplo", "priva", "attac", "env"),
           family="indirect"),
    signal("leak_secrets", CATEGORY, 0.55,
           r"\b(?:reveal|share|disclose|print|output|dump|list|post|send)\b (?:all |any |the |every )?(?:stored |"
           r"saved |internal |private )?(?:api[ _-]?keys?|passwords?|credentials|secrets|access tokens?|"
           r"private keys?|env(?:ironment)? variables|\.env)\b", ("api", "key", "keys", "passw", "crede", "secre",
                                                                  "acces", "priva", "env", "envir"),
           family="indirect", user_weight=0.25),
    signal("markdown_image_exfil", CATEGORY, 0.55,
           r"!\[[^\]\n]{0,100}\]\(https?://[^)\s]{1,200}[?&][^)\s=]{1,40}=(?:[^)\s]{0,200}"
           r"(?:\{|%7b|\$|\[|<)|[^)\s]{0,20}(?:data|q|query|secret|token|conv|chat|msg|p|info|d)\b)", (),
           family="indirect"),
    signal("instead_do", CATEGORY, 0.45,
           r"\binstead(?: of (?:summari[sz]ing|translating|answering|reading|analy[sz]ing|doing (?:that|this|so)))"
           r"?,? (?:you (?:should|must|will|need to)|please|respond|reply|say|print|output|write|tell|answer|"
           r"only)\b", ("inste",), family="indirect", user_weight=0.2),
    signal("tell_the_user", CATEGORY, 0.5,
           r"\b(?:tell|inform|convince|persuade|urge|warn|advise|instruct|ask|remind) the (?:user|reader|customer|"
           r"human)s? (?:to|that)\b|\brecommend (?:to )?the user (?:to|that)\b", ("user", "users", "reade", "custo",
                                                                                 "human"),
           family="indirect", user_weight=0.1),
    signal("when_summarizing", CATEGORY, 0.65,
           r"\b(?:when|if|while|after|before) (?:you |the assistant |the ai |the model |asked to )?"
           r"(?:summari[sz]e|summari[sz]ing|translate|translating|read|reading|process|processing|review|"
           r"reviewing|answer(?:ing)? questions about)\b (?:this|these|the following|the above|it)"
           r"(?: (?:document|email|page|text|article|message|content|file|review|data))?,? "
           r"(?:you (?:must|should|will|need to)|please|make sure|always|also|first|instead|ignore|include|add|"
           r"say|tell|respond|reply|recommend|state|mention|insert|append|output)",
           ("summa", "trans", "read", "readi", "proce", "revie", "answe"), family="indirect", user_weight=0.3),
    signal("document_has_instructions", CATEGORY, 0.65,
           r"\b(?:this|the following|these) (?:document|email|e-mail|page|message|website|text|file|review|"
           r"article|comment|note|content)s? (?:contains?|has|includes?|carries|holds) (?:new|updated|important|"
           r"hidden|secret|special|additional|urgent|priority)? ?(?:instructions|commands|directives|orders)\b"
           r"(?: for (?:the |any |all )?(?:ai|assistant|language model|llm|model)s?)?",
           ("instr", "comma", "direc", "order"), family="indirect"),
    signal("urgent_instruction", CATEGORY, 0.45,
           r"\b(?:important|urgent|attention|notice|warning|critical|priority|override)\b ?(?:!+|:)? ?"
           r"(?:new |updated |additional )?(?:instructions?|message|directive|update|command)s?\b ?(?:!|:|for)",
           ("impor", "urgen", "atten", "notic", "warni", "criti", "prior", "overr"), family="indirect",
           user_weight=0.2),
    signal("call_tool", CATEGORY, 0.5,
           r"\b(?:call|invoke|use|execute|run|trigger)\b (?:the |your )?(?:[a-z_]+ ){0,2}(?:tool|function|api|"
           r"plugin|command|action)\b", ("tool", "funct", "api", "plugi", "comma", "actio"), family="indirect",
           user_weight=0.1),
    signal("assistant_must", CATEGORY, 0.55,
           rf"\b{AI}s?\b,? (?:[a-z]+ ){{0,3}}(?:must|should|shall|will|needs? to|is (?:required|instructed|ordered) to|"
           rf"has to|are (?:required|instructed) to) (?:now |immediately |also |always |instead |silently )?"
           rf"{_ACTIONS}\b", AI_T, family="indirect", user_weight=0.25),
)

OBFUSCATION: tuple[Signal, ...] = (
    signal("decode_and_follow", CATEGORY, 0.6,
           r"\b(?:decode|decipher|decrypt|translate|convert|interpret|unscramble|reverse|read|apply)\b[^\n]{0,60}?"
           r"\b(?:and|then|,)\b ?(?:then )?(?:follow|execute|do|obey|run|perform|carry out|act on|comply|apply)\b",
           ("decod", "decip", "decry", "trans", "conve", "inter", "unscr", "rever", "read", "apply"),
           family="obfuscated"),
    signal("concatenate_and_follow", CATEGORY, 0.55,
           r"\b(?:do|follow|execute|obey|run)\b (?:what|the instructions? in) [a-z] ?\+ ?[a-z]\b|"
           r"\b(?:combine|concatenate|join) (?:the )?(?:strings|variables|parts|pieces)\b[^\n]{0,40}?"
           r"\b(?:follow|execute|do|obey|answer)\b", ("do", "follo", "execu", "obey", "run", "combi", "conca",
                                                     "join"), family="obfuscated"),
    signal("encoded_instruction_hint", CATEGORY, 0.3,
           r"\b(?:base64|base 64|b64|rot13|rot-13|hex|hexadecimal|binary|morse|caesar|ascii codes?|"
           r"unicode|reversed?|backwards)\b[^.!?\n]{0,30}?\b(?:instructions?|command|message|prompt|payload|"
           r"request|follow|execute|obey)\b", ("base", "b", "rot", "hex", "hexad", "binar", "morse", "caesa",
                                               "ascii", "unico", "rever", "backw"), family="obfuscated"),
)

# Quiet counter-evidence: the writer talks about their *own* earlier message, or asks what an
# injection is. Dampers never raise a score.
DAMPERS: tuple[Signal, ...] = (
    signal("own_previous_message", CATEGORY, -0.6,
           r"\b(?:ignore|disregard|forget) (?:about )?(?:my|our) (?:previous|last|earlier|prior|above|first|other) "
           r"(?:message|question|email|request|comment|answer|reply|post|draft|code|attempt)\b",
           ("ignor", "disre", "forge"), family="direct"),
    signal("reported_instruction", CATEGORY, -0.45,
           r"\b(?:told|asked|says|said|tells|wants|instructed|reminded) (?:me|us|him|her|them|everyone|the team) to "
           r"(?:ignore|disregard|forget)\b", ("told", "asked", "says", "said", "tells", "wants", "instr", "remin"),
           family="direct"),
    signal("about_injection", CATEGORY, -0.45,
           r"\b(?:what is|what are|explain|define|how (?:do|can|does|to) (?:i |we |you )?(?:defend|protect|prevent|"
           r"detect|mitigate|stop)|examples? of|research on|paper on|classify|detect(?:ing|ion)?|defen[cs]es? "
           r"against|protect(?:ing)? against|mitigat(?:e|ing|ion))\b[^.!?\n]{0,40}?\b(?:prompt injections?|"
           r"jailbreak(?:s|ing)?|injection attacks?)\b", ("what", "expla", "defin", "how", "examp", "resea",
                                                          "paper", "class", "detec", "defen", "prote", "mitig"),
           family="direct"),
)
