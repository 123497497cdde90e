"""What counts as an English dictionary word: WordNet's words, as the pipeline's lemmatizer ships
them, less the proper nouns among them."""

from __future__ import annotations


def dictionary_words(nlp: object) -> frozenset[str]:
    """WordNet's English words from the pipeline's lemmatizer tables (empty if it has none)."""
    from spacy.lookups import Lookups

    path = getattr(nlp, "_path", None)
    meta = getattr(nlp, "meta", {}) or {}
    candidates = []
    if path is not None:
        candidates.append(path / "lemmatizer" / "lookups")
    try:
        import spacy.util

        name = f"{meta.get('lang', 'en')}_{meta.get('name', '')}"
        package = spacy.util.get_package_path(name) if spacy.util.is_package(name) else None
        if package is not None:
            candidates += [p / "lemmatizer" / "lookups" for p in package.iterdir() if p.is_dir()]
    except Exception:
        pass
    for candidate in candidates:
        if (candidate / "lookups.bin").is_file():
            lookups = Lookups().from_disk(candidate)
            if "lemma_index" in lookups.tables:
                words = frozenset(w for ws in lookups.get_table("lemma_index").values() for w in ws)
                return words - proper_nouns(nlp, words)
    return frozenset()


def proper_nouns(nlp: object, words: frozenset[str]) -> frozenset[str]:
    """WordNet's entries that web text writes capitalised: famous people and places ("Kleist",
    "Kissinger", "Bavaria"), not ordinary words. The pipeline's word vectors (en_core_web_md) hold
    case-sensitive keys for the frequent forms; a word whose capitalised form has one and whose
    lower-case form none is a proper noun. A pipeline without vectors gives none."""
    vectors = getattr(getattr(nlp, "vocab", None), "vectors", None)
    key2row = getattr(vectors, "key2row", None)
    if not key2row:
        return frozenset()
    strings = nlp.vocab.strings  # type: ignore[attr-defined]

    def has_vector(form: str) -> bool:
        return form in strings and strings[form] in key2row

    return frozenset(w for w in words if w.isalpha() and not has_vector(w) and has_vector(w.capitalize()))
