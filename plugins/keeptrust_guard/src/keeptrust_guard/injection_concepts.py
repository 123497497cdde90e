# ruff: noqa: RUF001 - Cyrillic, Greek and CJK words are matched on purpose.
"""Cross-language concept terms for the injection head.

The head's training rows are almost all English: a word 1-2-gram learnt there ("ignore",
"instructions") says nothing about "ignoriere", "инструкции" or "忽略". Each word is also mapped to
the attack concepts its stem names (``~ignore``, ``~previous``, ``~instruction``, ...), the English
words included, so the weight a concept learns from English attacks carries over to the same
concept in another language (the multilingual jailbreak studies of Deng et al. 2023 and Yong et
al. 2023 show the same requests translated). A word matches a concept when it starts with one of
its stems, compared without accents (a compound may name two: "Systemprompt"); scripts written
without spaces (Chinese, Japanese) match when a term occurs anywhere in the run of characters.

The table holds the vocabulary of instruction overrides, prompt extraction and restriction removal
only, in about twenty languages (not Hindi: the word pattern splits Devanagari words at vowel signs);
its words are common ones, so benign texts carry them too and the head learns how much each is
worth from both classes.
"""

from __future__ import annotations

import unicodedata

from keeptrust_guard.token_cache import CACHED_TOKEN_CHARS, token_cache

_STEMS: dict[str, tuple[str, ...]] = {
    "ignore": (
        "ignor",
        "disregard",
        "forget",
        "forgot",
        "oubli",
        "olvid",
        "omite",
        "descart",
        "vergiss",
        "vergess",
        "missacht",
        "dimentic",
        "esquec",
        "desconsider",
        "negeer",
        "vergeet",
        "zignoruj",
        "zapomnij",
        "игнорир",
        "забудь",
        "забуд",
        "ігнор",
        "yoksay",
        "unut",
        "gormezden",
        "abaikan",
        "lupakan",
        "quen",
        "glom",
        "uita",
        "zapomen",
        "αγνοησ",
        "ξεχασ",
        "felejts",
        "glem",
        "unohda",
        "تجاهل",
        "무시",
        "잊어",
    ),
    "previous": (
        "previous",
        "prior",
        "earlier",
        "preceding",
        "precedent",
        "anterieur",
        "anterior",
        "previa",
        "previo",
        "vorherig",
        "bisherig",
        "vorig",
        "vorangegangen",
        "eerdere",
        "poprzedni",
        "предыдущ",
        "прежн",
        "попередн",
        "onceki",
        "sebelumnya",
        "truoc",
        "tidigare",
        "predchoz",
        "προηγουμεν",
        "korabb",
        "elozo",
        "tidligere",
        "aiemm",
        "edellis",
        "السابق",
        "سابق",
        "이전",
    ),
    "instruction": (
        "instruc",
        "instrukt",
        "instrukc",
        "инструкц",
        "інструкц",
        "consign",
        "directiv",
        "direttiv",
        "guideline",
        "richtlini",
        "anweisung",
        "istruzion",
        "indicacion",
        "talimat",
        "οδηγι",
        "utasitas",
        "ohje",
        "pokyn",
        "aanwijzing",
        "wytyczn",
        "указани",
        "вказівк",
        "تعليمات",
        "التعليمات",
        "지시",
        "지침",
    ),
    "rule": (
        "rule",
        "regle",
        "regla",
        "regel",
        "regol",
        "regra",
        "zasad",
        "правил",
        "kural",
        "aturan",
        "regul",
        "pravidl",
        "κανον",
        "szabaly",
        "saanno",
        "saanto",
        "قواعد",
        "القواعد",
        "규칙",
    ),
    "system": ("system", "sistem", "systeem", "систем", "συστημ", "النظام", "시스템"),
    "prompt": ("prompt", "промпт", "프롬프트"),
    "reveal": (
        "reveal",
        "revel",
        "rivel",
        "verrat",
        "zeig",
        "montr",
        "muestr",
        "mostr",
        "affich",
        "print",
        "display",
        "pokaz",
        "покаж",
        "раскрой",
        "выведи",
        "goster",
        "tampilkan",
        "tunjukkan",
        "afiseaz",
        "ukaz",
        "vypis",
        "δειξ",
        "mutasd",
        "nayta",
        "اكشف",
        "اعرض",
        "보여",
    ),
    "secret": (
        "password",
        "secret",
        "hidden",
        "contrasen",
        "passwort",
        "kennwort",
        "geheim",
        "segret",
        "senha",
        "wachtwoord",
        "hasł",
        "пароль",
        "секрет",
        "скрыт",
        "прихован",
        "sifre",
        "gizli",
        "rahasia",
        "losenord",
        "parola",
        "heslo",
        "skryt",
        "κωδικ",
        "κρυφ",
        "jelszo",
        "rejtett",
        "adgangskode",
        "salasan",
        "salainen",
        "المرور",
        "비밀",
    ),
    "unrestricted": (
        "restrict",
        "restric",
        "limit",
        "filter",
        "filtr",
        "censur",
        "zensur",
        "uncensor",
        "unfilter",
        "einschrank",
        "beperking",
        "ograniczen",
        "ограничен",
        "цензур",
        "обмежен",
        "sınır",
        "sansur",
        "batasan",
        "sensor",
        "begransning",
        "omezen",
        "περιορισμ",
        "λογοκρισ",
        "korlatoz",
        "cenzur",
        "begraensning",
        "rajoitu",
        "sensuuri",
        "قيود",
        "رقابة",
        "제한",
        "검열",
        "필터",
    ),
    "pretend": (
        "pretend",
        "roleplay",
        "imagin",
        "immagin",
        "finge",
        "fingi",
        "finja",
        "alsof",
        "udawaj",
        "притвор",
        "представь",
        "прикинь",
        "уяви",
        "davran",
        "berpura",
        "latsas",
        "prefa",
        "predstir",
        "προσποι",
        "تظاهر",
        "척하",
    ),
    "developer": (
        "developer",
        "developpeur",
        "desarrollador",
        "entwickler",
        "sviluppator",
        "desenvolvedor",
        "ontwikkelaar",
        "dewelop",
        "разработчик",
        "розробник",
        "gelistirici",
        "pengembang",
        "utvecklar",
        "dezvoltator",
        "vyvojar",
        "fejleszt",
        "udvikler",
        "kehittaj",
        "개발자",
    ),
}
# Terms of scripts written without spaces, matched anywhere inside a run of characters.
_RUN_TERMS: dict[str, tuple[str, ...]] = {
    "ignore": ("忽略", "忘记", "无视", "忘掉", "無視", "忘れ"),
    "previous": ("之前", "以前", "先前", "上面", "上記", "前の"),
    "instruction": ("指令", "指示", "命令"),
    "rule": ("规则", "規則", "ルール"),
    "system": ("系统", "システム"),
    "prompt": ("提示", "プロンプト"),
    "reveal": ("显示", "输出", "透露", "泄露", "表示", "見せ", "教え"),
    "secret": ("密码", "秘密", "隐藏", "パスワード", "隠"),
    "unrestricted": ("限制", "审查", "过滤", "制限", "検閲", "フィルター"),
    "pretend": ("假装", "扮演", "ふり", "演じ"),
    "developer": ("开发者", "開発者"),
}
_RUNS = tuple((term, f"~{concept}") for concept, terms in _RUN_TERMS.items() for term in terms)
_RUN_CHARS = frozenset("".join(term for term, _ in _RUNS))


def _unaccented(word: str) -> str:
    """Without the accents of Latin, Greek and Cyrillic letters (the combining marks U+0300-U+036F);
    other scripts' marks (Devanagari vowel signs, Hangul) are kept."""
    if word.isascii():
        return word
    bare = "".join(c for c in unicodedata.normalize("NFD", word) if not "\u0300" <= c <= "\u036f")
    return unicodedata.normalize("NFC", bare)


_BY_STEM = {_unaccented(stem): f"~{concept}" for concept, stems in _STEMS.items() for stem in stems}
_STEM_LENGTHS = sorted({len(stem) for stem in _BY_STEM}, reverse=True)


def _concepts_of(word: str) -> tuple[str, ...]:
    found: list[str] = []
    rest = _unaccented(word)
    # A stem may be followed by another one in a compound ("systemprompt", "systemanweisungen"); a
    # Korean or Arabic stem may be two or three letters long, a compound's next part at least four.
    while rest and (not found or len(rest) >= 4):
        for n in _STEM_LENGTHS:
            concept = _BY_STEM.get(rest[:n]) if len(rest) >= n else None
            if concept is not None:
                found.append(concept)
                rest = rest[n:]
                break
        else:
            break
    if not word.isascii() and any(c in _RUN_CHARS for c in word):
        found += [concept for term, concept in _RUNS if term in word and concept not in found]
    return tuple(found)


_cached_concepts = token_cache(_concepts_of)


def concepts(words: list[str]) -> list[str]:
    """The concept terms of lower-cased words, one per matching word (repeats kept, as counts)."""
    out: list[str] = []
    for word in words:
        found = _cached_concepts(word) if len(word) <= CACHED_TOKEN_CHARS else _concepts_of(word)
        if found:
            out.extend(found)
    return out
