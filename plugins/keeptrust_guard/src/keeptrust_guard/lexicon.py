"""Word lists of the content signals.

The slur lists are stored rot13-encoded so that reading, grepping or reviewing this package does not
put the words on screen; they are decoded once, at import, into compiled patterns. The lists were
written for this package (no third-party word list is copied) and are deliberately short: the
signals in ``content_signals`` score words *in context* (directed at someone, dehumanising
predicates), and dampers lower the score for quotation and academic discussion.
"""

from __future__ import annotations

import codecs


def _decode(words: str) -> tuple[str, ...]:
    return tuple(codecs.encode(w, "rot13").replace("_", " ") for w in words.split())


# Unambiguous slurs (race, ethnicity, religion, sexuality, gender identity).
SLURS = _decode(
    "avttre avttref avttn avttnf puvax puvaxf fcvp fcvpf fcvpx jrgonpx jrgonpxf xvxr xvxrf xlxr enturnq "
    "enturnqf gbjryurnq gbjryurnqf fnaqavttre wvtnobb cbepu_zbaxrl ornare ornaref mvccreurnq fnzob tbyyvjbt "
    "cvpxnavaal ulzvr xnssve snttbg snttbgf genaal genaavrf furznyr cbbsgre zhmmvr tlcb tlccb"
)
# Words that are slurs in one sense and ordinary words in another (a raccoon, a Dutch dike, a UK
# cigarette, a sports team's old name): weaker on their own.
AMBIGUOUS_SLURS = _decode(
    "snt sntf qlxr qlxrf pbba pbbaf cnxv cnxvf ergneq ergneqf zbatbybvq fcnm jbc qntb erqfxva erqfxvaf tbbx tbbxf"
)

# Insults as nouns and adjectives (not slurs).
INSULT_NOUNS = (
    "idiot", "idiots", "moron", "morons", "imbecile", "imbeciles", "loser", "losers", "scum", "trash", "garbage",
    "clown", "jerk", "dumbass", "dipshit", "freak", "creep", "pig", "parasite", "waste of space", "waste of oxygen",
    "piece of shit", "piece of garbage", "piece of trash", "nobody", "failure", "disgrace", "joke", "bitch",
    "bastard", "asshole", "cunt", "dickhead", "prick", "twat", "wanker", "motherfucker", "cocksucker", "whore",
    "slut", "skank", "hoe", "retard", "halfwit", "nitwit", "cretin", "buffoon", "simpleton", "degenerate",
    "lowlife", "vermin", "animal", "subhuman", "dog",
)
INSULT_ADJECTIVES = (
    "stupid", "dumb", "worthless", "pathetic", "useless", "ugly", "fat", "disgusting", "brainless", "retarded",
    "idiotic", "moronic", "incompetent", "hopeless", "miserable", "repulsive", "vile", "gross", "fucking",
    "dense", "ignorant", "clueless", "spineless", "insufferable", "braindead", "brain-dead", "lame",
)
PROFANITY = (
    "fuck", "fucking", "fucked", "fucker", "fuckers", "motherfucker", "shit", "shitty", "bullshit", "bitch",
    "bitches", "bastard", "asshole", "assholes", "cunt", "cunts", "dickhead", "prick", "twat", "wanker",
    "cocksucker", "piss off", "pissed", "damn", "goddamn", "crap", "screw you", "stfu", "gtfo", "wtf",
)
# Identity groups, as plural nouns, for the dehumanisation and incitement patterns.
GROUPS = (
    "jews", "jewish people", "muslims", "moslems", "arabs", "christians", "catholics", "hindus", "sikhs",
    "buddhists", "atheists", "blacks", "black people", "whites", "white people", "asians", "chinese people",
    "the chinese", "indians", "mexicans", "latinos", "hispanics", "africans", "immigrants", "migrants",
    "illegals", "refugees", "foreigners", "gays", "gay people", "homosexuals", "lesbians", "bisexuals",
    "trans people", "transgender people", "trans women", "trans men", "transgenders", "queers", "women",
    "females", "disabled people", "the disabled", "gypsies", "roma", "pakistanis", "palestinians", "israelis",
    "somalis", "nigerians", "haitians", "syrians", "afghans", "iranians", "poles", "irish people", "feminists",
    "old people", "fat people", "autistic people", "mentally ill people",
)
# Singular forms, for "every Jew", "that Muslim" (the plural list above reads "Jews are ...").
GROUPS_SINGULAR = (
    "jew", "muslim", "arab", "christian", "hindu", "black", "immigrant", "migrant", "refugee", "foreigner",
    "mexican", "asian", "african", "gay", "lesbian", "homosexual", "tranny", "woman", "feminist", "gypsy",
)
DEHUMANISING = (
    "animals", "vermin", "rats", "cockroaches", "roaches", "parasites", "subhuman", "sub-human", "savages",
    "apes", "monkeys", "pigs", "dogs", "filth", "filthy", "scum", "trash", "garbage", "a disease", "a plague",
    "a virus", "a cancer", "a cancer on society", "inferior", "not human", "not people", "less than human",
    "evil", "criminals", "terrorists", "rapists", "thieves", "pedophiles", "paedophiles", "degenerates",
    "disgusting", "worthless", "stupid", "dirty", "a burden", "an infestation", "leeches", "barbarians",
    "genetically inferior", "mentally ill", "sick", "abominations", "an abomination", "freaks", "idiots",
    "morons", "brainwashed", "brainwashed idiots", "retarded", "perverts", "groomers", "useless eaters", "useless",
    "a drain", "greedy parasites", "like rats", "like animals", "like vermin",
)
# "a potential terrorist": the singular predicates of a stereotype about one member of a group.
STEREOTYPE_SINGULAR = ("terrorist", "criminal", "rapist", "thief", "animal", "parasite", "savage", "pedophile",
                       "paedophile", "invader", "subhuman", "degenerate")
