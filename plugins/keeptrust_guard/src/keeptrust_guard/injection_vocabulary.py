"""Word classes shared by the injection signal tables (regex alternations and trigger stems)."""

from __future__ import annotations

CATEGORY = "prompt_injection"

G = r"[^.!?\n]{0,40}?"  # a bounded gap inside one sentence
S = r"[^.!?\n]{0,16}?"  # a short gap

OVERRIDE = (r"(?:ignore|ignoring|disregard|forget|skip|bypass|override|overlook|neglect|abandon|discard|dismiss"
            r"|erase|delete|drop|ditch|scrap|nullify|cancel|throw away|set aside|put aside|pay no attention to"
            r"|do not follow|don'?t follow|stop following|no longer follow|stop obeying|unlearn|wipe)")
ANTECEDENT = (r"(?:previous|previously|prior|preceding|above|earlier|former|original|initial|old|foregoing|all|any"
              r"|every|your|these|those|system|developer|given|existing|current|default|standard|other)")
STRONG_TARGET = (r"(?:instructions?|prompts?|rules?|directions?|directives?|guidelines?|guidance|commands?|orders"
                 r"|constraints?|restrictions?|programming|training|polic(?:y|ies)|guardrails?|filters?|safeguards?"
                 r"|limitations?|boundaries|ethics|morals|principles|protocols?|system message|task|tasks|objectives?)")
WEAK_TARGET = r"(?:context|conversation|messages?|text|content|input|settings|configuration|everything|what)"
# Words for the model itself, without "model"/"agent" (too common in documentation).
AI_STRICT = r"(?:ai|a\.i\.|assistant|chatbot|chat bot|llm|language models?|gpt|chatgpt|copilot|claude|gemini)"
AI = r"(?:ai|a\.i\.|assistant|chatbot|chat bot|llm|language model|model|gpt|chatgpt|bot|copilot|agent|claude|gemini)"
NO_LIMITS = (r"(?:restrictions?|limitations?|limits|filters?|filtering|guidelines|censorship|boundaries|rules"
             r"|constraints|polic(?:y|ies)|safeguards|guardrails|morals|ethics|moral compass|inhibitions|principles"
             r"|scruples|conscience|values)")
# "no restrictions", "without any moral principles", "with no safety filters", "no ethical programming"
LIMITS = (rf"(?:(?:any |all |ethical |moral |safety |content |your |the |such )*{NO_LIMITS}\b|"
          r"(?:ethical|moral|safety|content) (?:programming|training|alignment)\b)")
FREE_PERSONA = (r"(?:unfiltered|uncensored|unrestricted|unlimited|unbound|unchained|unshackled|jailbroken|unaligned"
                r"|amoral|unethical|immoral|lawless|rogue|evil|malicious|unmoderated|limitless|rule-?free"
                r"|dark(?! mode\b)|nonmoral|non-moral|rebellious|unhinged)")

AI_T = ("ai", "assis", "chatb", "chat", "llm", "langu", "model", "gpt", "chatg", "bot", "copil", "agent", "claud",
        "gemin")
FREE_T = ("unfil", "uncen", "unres", "unlim", "unbou", "uncha", "unsha", "jailb", "unali", "amora", "uneth", "immor",
          "lawle", "rogue", "evil", "malic", "unmod", "limit", "rule", "rulef", "dark", "nonmo", "non", "rebel",
          "unhin")
LIMITS_T = ("restr", "limit", "filte", "guide", "censo", "bound", "rules", "const", "polic", "safeg", "guard",
            "moral", "ethic", "inhib", "princ", "scrup", "consc", "value", "progr", "train", "align")
OVERRIDE_T = ("ignor", "disre", "forge", "skip", "bypas", "overr", "overl", "negle", "aband", "disca", "dismi",
              "erase", "delet", "drop", "ditch", "scrap", "nulli", "cance", "throw", "set", "put", "pay", "follo",
              "stop", "unlea", "wipe")
