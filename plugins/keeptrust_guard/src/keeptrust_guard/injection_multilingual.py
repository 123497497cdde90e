# ruff: noqa: RUF001 - CJK punctuation is matched on purpose.
"""Signals for texts spaced out letter by letter (the ``compact`` view) and for attacks written in
other languages (Deng et al. 2023; Yong et al. 2023). Latin-script languages are matched on the
skeleton view, so without accents; the others on the plain view.
"""

from __future__ import annotations

from keeptrust_guard.injection_vocabulary import CATEGORY
from keeptrust_guard.signals import Signal, signal

# Letters only, for text spaced out letter by letter ("i g n o r e a l l ...").
COMPACT: tuple[Signal, ...] = (
    signal("compact_override", CATEGORY, 0.85,
           r"(?:ignore|disregard|forget|bypass|override)(?:all|any|every)?(?:of)?(?:the|your|my)?(?:previous|prior|"
           r"above|earlier|preceding|former|original|system)?(?:instructions?|rules|prompts?|directives|guidelines)",
           view="compact", family="obfuscated"),
    signal("compact_reveal", CATEGORY, 0.8,
           r"(?:reveal|show|print|repeat|tell|give)(?:me)?(?:your|the)?(?:system|initial|original|hidden|secret)"
           r"(?:prompt|instructions|password|message)", view="compact", family="obfuscated"),
    signal("compact_persona", CATEGORY, 0.8,
           r"doanythingnow|developermode|jailbr(?:eak|oken)|(?:no|without)(?:restrictions|filters|rules|limits)",
           view="compact", family="obfuscated"),
)

# Other languages. Latin-script ones are written without accents (the skeleton strips them);
# the others run on the plain view.
MULTILINGUAL: tuple[Signal, ...] = (
    signal("fr_override", CATEGORY, 0.85,
           r"\b(?:ignore[zrs]?|oublie[zrs]?|ne tiens? (?:pas|plus) compte|fais abstraction|n'obeis plus)\b"
           r" (?:a |de |d')?(?:toutes |tous )?(?:les|tes|vos|ces|des|aux)\b[^.!?\n]{0,30}?"
           r"\b(?:instructions?|consignes?|regles|directives?|indications|ordres|commandes)\b",
           ("instr", "consi", "regle", "direc", "indic", "ordre", "comma"), family="multilingual"),
    signal("fr_reveal", CATEGORY, 0.8,
           r"\b(?:revele[zr]?|montre[zr]?|affiche[zr]?|donne[zr]?|repete[zr]?|dis|dites|ecris|ecrivez|"
           r"quel(?:le)? est)[- ]?(?:moi|nous)?\b[^.!?\n]{0,20}?"
           r"\b(?:prompt|invite|message|instructions?|consignes) "
           r"(?:systeme|initiale?s?|d'origine|cachee?s?|secrete?s?)",
           ("revel", "montr", "affic", "donne", "repet", "dis", "ecris", "quel", "quell"), family="multilingual"),
    signal("fr_no_limits", CATEGORY, 0.45,
           r"\bsans (?:aucune? )?(?:restrictions?|limites?|filtres?|regles|censure|contraintes?|ethique|morale)\b",
           ("sans",), family="multilingual"),
    signal("es_override", CATEGORY, 0.85,
           r"\b(?:ignora|ignore|ignoren|ignorar|olvida|olvide|olviden|olvidar|omite|descarta|haz caso omiso de|"
           r"no sigas)\b (?:todas |todos )?(?:las|los|tus|sus|estas|esas)\b[^.!?\n]{0,30}?"
           r"\b(?:instrucciones|reglas|indicaciones|directrices|ordenes|normas)\b",
           ("instr", "regla", "indic", "direc", "orden", "norma"), family="multilingual"),
    signal("es_reveal", CATEGORY, 0.8,
           r"\b(?:revela|muestra|muestrame|dime|imprime|repite|escribe|cual es)\b[^.!?\n]{0,20}?\b(?:prompt|mensaje|"
           r"instrucciones) (?:del sistema|de sistema|inicial(?:es)?|original(?:es)?|ocult[oa]s?|secret[oa]s?)",
           ("revel", "muest", "dime", "impri", "repit", "escri", "cual"), family="multilingual"),
    signal("es_no_limits", CATEGORY, 0.45,
           r"\bsin (?:ninguna? )?(?:restricciones|limites|filtros|reglas|censura|etica|moral)\b", ("sin",),
           family="multilingual"),
    signal("de_override", CATEGORY, 0.85,
           r"\b(?:ignorier(?:e|en|t)?|vergiss|vergessen sie|missachte|uberschreibe|verwirf)\b[^.!?\n]{0,40}?"
           r"\b(?:anweisungen|anweisung|instruktionen|befehle|regeln|vorgaben|richtlinien|anordnungen)\b|"
           r"\bvergiss (?:alles|das bisherige|alles bisherige|alles vorherige)\b",
           ("anwei", "instr", "befeh", "regel", "vorga", "richt", "anord", "vergi"), family="multilingual"),
    signal("de_reveal", CATEGORY, 0.8,
           r"\b(?:zeig(?:e)?|verrate|gib|nenne|wiederhole|schreib(?:e)?|was ist|was sind)\b[^.!?\n]{0,20}?"
           r"\b(?:system-?prompt|systemnachricht|systemanweisungen|(?:ursprunglichen|geheimen|versteckten) "
           r"(?:anweisungen|prompt|instruktionen)|das passwort)", ("zeig", "zeige", "verra", "gib", "nenne",
                                                                  "wiede", "schre", "was"), family="multilingual"),
    signal("de_no_limits", CATEGORY, 0.45,
           r"\bohne (?:jegliche |irgendwelche )?(?:einschrankungen|beschrankungen|filter|regeln|zensur|grenzen|"
           r"ethik|moral)\b", ("ohne",), family="multilingual"),
    signal("it_pt_override", CATEGORY, 0.85,
           r"\b(?:ignora|ignori|ignorare|dimentica|dimentichi|trascura|ignore|ignorar|esqueca|esquece|desconsidere|"
           r"desconsidera)\b (?:tutte |todas |todos )?(?:le|as|os|tue|suas|tuas|queste|estas)\b[^.!?\n]{0,30}?"
           r"\b(?:istruzioni|regole|indicazioni|direttive|instrucoes|regras|diretrizes|orientacoes)\b",
           ("istru", "regol", "indic", "diret", "instr", "regra", "orien"), family="multilingual"),
    signal("nl_sv_pl_override", CATEGORY, 0.85,
           r"\b(?:negeer|vergeet|ignorera|glom|zignoruj|zapomnij|ignoruj|pomin)\b[^.!?\n]{0,30}?"
           r"\b(?:instructies|regels|aanwijzingen|instruktioner|regler|instrukcje|polecenia|zasady|wytyczne)\b",
           ("instr", "regel", "aanwi", "regle", "polec", "zasad", "wytyc"), family="multilingual"),
    signal("tr_id_vi_override", CATEGORY, 0.85,
           r"\b(?:onceki|yukaridaki|tum)\b[^.!?\n]{0,20}?\b(?:talimatlari|talimatlar|kurallari)\b[^.!?\n]{0,20}?"
           r"\b(?:yoksay|gormezden|unut)|\b(?:abaikan|lupakan)\b[^.!?\n]{0,20}?\b(?:instruksi|perintah|aturan)\b|"
           r"\b(?:bo qua|quen|phot lo)\b[^.!?\n]{0,20}?\b(?:huong dan|chi dan|chi thi|quy tac)\b",
           ("oncek", "yukar", "tum", "abaik", "lupak", "bo", "quen", "phot"), family="multilingual"),
    signal("ru_uk_override", CATEGORY, 0.85,
           r"(?:игнорир\w*|проигнорир\w*|забудь\w*|забудьте|не обращай\w* внимани\w* на|отбрось\w*|ігнор\w*|"
           r"забудь|не зважай\w* на)[^.!?\n]{0,40}?(?:инструкци\w*|указани\w*|правил\w*|команд\w*|"
           r"інструкці\w*|вказівк\w*|настанов\w*)", view="plain", family="multilingual"),
    signal("ru_reveal", CATEGORY, 0.8,
           r"(?:покажи|выведи|раскрой|напиши|повтори|скажи|какой|розкажи|покажи)[^.!?\n]{0,30}?"
           r"(?:системн\w* (?:промпт|подсказк\w*|инструкци\w*|сообщени\w*)|системн\w* промпт|исходн\w* инструкци\w*|"
           r"пароль)", view="plain", family="multilingual"),
    signal("zh_override", CATEGORY, 0.85,
           r"(?:忽略|无视|忽视|忘记|忘掉|不要理会|不要遵守|跳过|無視|忽略掉)[^。！？\n]{0,12}?(?:指令|指示|说明|規則|规则|提示|要求|命令|設定|设定)",
           view="plain", family="multilingual"),
    signal("zh_reveal", CATEGORY, 0.8,
           r"(?:显示|输出|告诉我|透露|打印|重复|泄露|展示|給我|给我)[^。！？\n]{0,10}?(?:系统提示|系統提示|系统指令|初始指令|系统消息|密码)",
           view="plain", family="multilingual"),
    signal("ja_override", CATEGORY, 0.85,
           r"(?:以前|前|上記|これまで|すべて|全て)の[^。！？\n]{0,8}?(?:指示|命令|ルール|指令|設定)を?(?:無視|忘れ)|"
           r"システムプロンプトを(?:表示|教え|出力|見せ)", view="plain", family="multilingual"),
    signal("ko_override", CATEGORY, 0.85,
           r"(?:이전|위의|모든|앞의)[^.!?\n]{0,10}?(?:지시|지침|명령|규칙)[^.!?\n]{0,6}?(?:무시|잊어)|"
           r"시스템 ?프롬프트[^.!?\n]{0,10}?(?:보여|알려|출력)", view="plain", family="multilingual"),
    signal("ar_hi_override", CATEGORY, 0.85,
           r"(?:تجاهل|انس|اهمل)[^.!?\n]{0,30}?(?:التعليمات|الأوامر|الاوامر|القواعد)|"
           r"(?:पिछले|पहले के|सभी)[^.!?\n]{0,20}?(?:निर्देशों|निर्देश|नियमों)[^.!?\n]{0,20}?(?:अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल)",
           view="plain", family="multilingual"),
    *(  # More languages, and the verb-object orders the ones above miss (German V2 inversion, Japanese
        # and Korean topic particles, "forget everything you were told" in Romance languages).
        signal("ml_forget_everything", CATEGORY, 0.8,
               r"\b(?:oublie[zr]?|olvida|olvide|ignora|dimentica|scorda|esqueca|esquece|vergiss|vergessen sie)\b"
               r" (?:tout|todo|tudo|tutto|alles)\b[^.!?\n]{0,30}?\b(?:dit|demande|dijeron|dicho|pidieron|detto|chiesto|"
               r"disseram|dito|gesagt|aufgetragen|befohlen)\b",
               ("oubli", "olvid", "ignor", "dimen", "scord", "esque", "vergi"), family="multilingual"),
        signal("de_rules_void", CATEGORY, 0.8,
               r"\b(?:regeln|anweisungen|vorgaben|richtlinien|einschrankungen|instruktionen)\b[^.!?\n]{0,30}?\b"
               r"(?:gelten|gilt)\b[^.!?\n]{0,20}?\bnicht mehr\b|\bgelten\b[^.!?\n]{0,30}?\b(?:regeln|anweisungen|"
               r"vorgaben|richtlinien|einschrankungen)\b[^.!?\n]{0,10}?\bnicht mehr\b",
               ("gelte", "gilt"), family="multilingual"),
        signal("it_nl_pl_tr_id_override", CATEGORY, 0.8,
               r"\b(?:non (?:seguire|rispettare|obbedire) piu|dimentica|scorda)\b[^.!?\n]{0,40}?\b(?:istruzioni|regole|"
               r"indicazioni|direttive|linee guida)\b|\b(?:regels|instructies|richtlijnen)\b[^.!?\n]{0,20}?\b(?:gelden "
               r"niet meer|zijn niet meer geldig|vervallen)\b|\bgelden\b[^.!?\n]{0,20}?\b(?:regels|instructies|"
               r"richtlijnen)\b[^.!?\n]{0,10}?\bniet meer\b|\b(?:volg niet meer|negeer|vergeet)\b[^.!?\n]{0,30}?"
               r"\b(?:regels|instructies|richtlijnen)\b|\b(?:nie przestrzegaj|zignoruj|zapomnij|ignoruj|pomin)\b"
               r"[^.!?\n]{0,30}?\b(?:zasad|zasady|regu[lł]|regu[lł]y|instrukcji|instrukcje|polecen|polecenia|wytycznych)\b|"
               r"\b(?:kurallarini|talimatlarini|kurallari|talimatlari|yonergeleri)\b[^.!?\n]{0,20}?\b(?:unut|yoksay|"
               r"gormezden)|\b(?:lupakan|abaikan|jangan ikuti)\b[^.!?\n]{0,25}?\b(?:aturan|aturanmu|instruksi|perintah|"
               r"pedoman)",
               ("non", "dimen", "scord", "regel", "instr", "richt", "volg", "negee", "verge", "nie", "zigno", "zapom",
                "gelde", "ignor", "pomin", "kural", "talim", "yoner", "lupak", "abaik", "janga"),
               family="multilingual"),
        signal("ml_no_limits", CATEGORY, 0.45,
               r"\bsenza (?:alcuna )?(?:censura|restrizioni|limiti|filtri|regole)\b|\bzonder (?:enige )?(?:beperkingen|"
               r"filters|regels|censuur)\b|\bbez (?:zadnych )?(?:ograniczen|filtrow|cenzury|zasad)\b|"
               r"\btanpa (?:batasan|batas|filter|sensor|aturan)\b|\b(?:sinirsiz|kisitlamasiz|filtresiz)\b|"
               r"\bsem (?:restricoes|filtros|"
               r"censura|limites)\b", ("senza", "zonde", "bez", "tanpa", "sinir", "kisit", "filtr", "sem"),
               family="multilingual"),
        signal("ml_secret", CATEGORY, 0.5,
               r"\bgizli (?:sifre|sifreyi|parola|parolayi)|\b(?:prompt systemowy|systemowy prompt|systeemprompt|"
               r"prompt (?:de |do |del |di )?sistema|prompt systeme)\b|\b(?:geheime|geheim) wachtwoord\b",
               ("gizli", "promp", "syste", "syste", "gehei"), family="multilingual"),
        signal("cjk_override", CATEGORY, 0.8,
               r"(?:指示|ルール|命令|規則|設定|指令)(?:は|を|も)?[^。！？\n]{0,8}?(?:無視|忘れ)|"
               r"(?:지시|지침|명령|규칙)(?:을|를|은|는|도)?[^.!?\n]{0,8}?(?:무시|잊어)|"
               r"(?:不要|别|不再)(?:遵守|遵循|理会|服从)[^。！？\n]{0,6}?(?:规则|規則|指令|指示|规定|限制)|"
               r"(?:नियमों|निर्देशों|नियम|निर्देश)[^।.!?\n]{0,25}?(?:भूल|अनदेखा|नज़रअंदाज़|नजरअंदाज)",
               view="plain", family="multilingual"),
        signal("cjk_secret", CATEGORY, 0.5,
               r"パスワード(?:を|は)?[^。\n]{0,4}?(?:教え|言って|見せ|表示)|(?:비밀번호|암호|패스워드)(?:를|을)? ?"
               r"(?:알려|말해|보여)|पासवर्ड[^।\n]{0,10}?(?:बताओ|बताइए|दिखाओ)|制限(?:なし|なく|無し)|제한 ?없이|"
               r"(?:没有|无|不受)(?:任何)?(?:限制|约束|规则)", view="plain", family="multilingual"),
    ),
)
