"""content-filter and safety-filter on the held-out third-party content sets, per source and category.

Called by ``run_eval.py`` (``--thirdparty-only`` prints it). A row flags:

- ``content-filter`` as the example configs set it (``categories: [hate_speech, harassment]``): the
  higher of those two scores reaches the threshold;
- ``content-filter`` with the default five categories: any of them does;
- its own category: the score of the category the source labels it with;
- ``safety-filter`` (``check_toxicity``): the ``toxicity`` score does.

Benign rows come in two kinds, reported apart: *benign* (ordinary and hard-negative texts: BBQ
contexts naming groups, medicine, Wikipedia, social situations, safe answers about harm, security
and food questions) and Kaggle's *non-insult comments*, whose label only says "does not insult a
participant" (many are profane or hostile), so their flag rate is not a false-positive rate.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import thirdparty
import thirdparty_content

CONTENT = ("hate_speech", "harassment", "self_harm", "sexual", "violence")
EXAMPLE = ("hate_speech", "harassment")
TOXIC = {"toxicity", "hate_speech", "harassment"}
NOISY_NEGATIVE = "insults_test"

Scorer = Callable[[str, str], dict[str, float]]


def _rate(hits: int, n: int) -> str:
    return f"{hits / n:.3f}" if n else "-"


def evaluate(score: Scorer, threshold: float) -> dict[tuple[str, str], float]:
    """Print the tables and return the headline figures (the quality gate's keys)."""
    # cell: n, content-filter (example), content-filter (five), own category, safety-filter
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    times: list[float] = []  # content-filter + safety-filter on one message of 100-300 words
    for source, rows in thirdparty_content.load("content").items():
        for row in rows:
            text = str(row["text"])
            start = time.perf_counter()
            s = score(text, str(row.get("role", "user")))
            if 100 <= len(text.split()) <= 300:
                times.append(time.perf_counter() - start)
            example = max(s.get(c, 0.0) for c in EXAMPLE) >= threshold
            five = max(s.get(c, 0.0) for c in CONTENT) >= threshold
            toxic = s.get("toxicity", 0.0) >= threshold
            categories = list(row["categories"])  # type: ignore[arg-type]
            labels = categories if row["label"] else ["non-insult comment" if source == NOISY_NEGATIVE else "benign"]
            for category in labels:
                own = s.get(category, 0.0) >= threshold if row["label"] else five
                cell = cells[(source, category)]
                for i, hit in enumerate((True, example, five, own, toxic)):
                    cell[i] += hit
                if row["label"] and category in CONTENT:
                    _add(totals, f"category {category}: content-filter (five)", five)
                    _add(totals, f"category {category}: own category", own)
            if row["label"]:
                if set(categories) & {"hate_speech", "harassment"}:
                    _add(totals, "content-filter (hate_speech, harassment) TPR", example)
                _add(totals, "content-filter (five categories) TPR", five)
                if set(categories) & TOXIC:
                    _add(totals, "safety-filter (toxicity) TPR", toxic)
            elif source != NOISY_NEGATIVE:
                _add(totals, "content-filter (hate_speech, harassment) FPR", example)
                _add(totals, "content-filter (five categories) FPR", five)
                _add(totals, "safety-filter (toxicity) FPR", toxic)
            else:
                _add(totals, "non-insult comments flagged: content-filter (hate_speech, harassment)", example)
                _add(totals, "non-insult comments flagged: safety-filter", toxic)
    print(f"\n## content-filter and safety-filter, third-party held-out sets (threshold {threshold})\n")
    print(
        "| source | label | n | content-filter (hate, harassment) | content-filter (five) | own category "
        "| safety-filter |\n|---|---|---|---|---|---|---|"
    )
    for (source, category), (n, example, five, own, toxic) in sorted(cells.items()):
        own_cell = _rate(own, n) if category in CONTENT else "-"
        print(
            f"| {source} | {category} | {n} | {_rate(example, n)} | {_rate(five, n)} | {own_cell} | {_rate(toxic, n)} |"
        )
    print("\n| figure | n | rate |\n|---|---|---|")
    out: dict[tuple[str, str], float] = {}
    for name, (n, hits) in sorted(totals.items()):
        print(f"| {name} | {n} | **{_rate(hits, n)}** |")
        out[("content", name)] = hits / n if n else 0.0
    # Benign text unlike the benign rows above: people's casual chat (``thirdparty.chitchat_split``'s
    # held-out turns: first-person talk about plans and feelings, slang), the requests of people
    # who use an assistant with tools (``thirdparty.tool_user_split``'s held-out tasks: "I want to
    # find a train", "cancel my last order") and consumers' questions about medicines
    # (``thirdparty_content.medication_questions``: "how does valium affect the brain").
    for label, texts in (
        ("people's casual chat", thirdparty.chitchat_turns()),
        ("tool users' requests", thirdparty.tool_user_split()[1]),
        ("medication questions", thirdparty_content.medication_questions()),
    ):
        flags = [0, 0, 0]
        for text in texts:
            s = score(text, "user")
            flags[0] += max(s.get(c, 0.0) for c in EXAMPLE) >= threshold
            flags[1] += max(s.get(c, 0.0) for c in CONTENT) >= threshold
            flags[2] += s.get("toxicity", 0.0) >= threshold
        for name, hits in zip(FLAGGED_BY, flags, strict=True):
            print(f"| {label} flagged: {name} | {len(texts)} | **{_rate(hits, len(texts))}** |")
            out[("content", f"{label} flagged: {name}")] = hits / len(texts)
    if times:
        p50, p90 = statistics.median(times) * 1e3, statistics.quantiles(times, n=10)[-1] * 1e3
        print(f"\nper message of 100-300 words (n={len(times)}): p50 {p50:.2f} ms, p90 {p90:.2f} ms")
    for (source, category), (n, example, _five, _own, toxic) in cells.items():
        out[(source, category)] = example / n
        out[(source, f"{category} safety")] = toxic / n
    return out


# The three readings of a benign set's flags: the content-filter's example categories, its five
# categories, the safety-filter's toxicity.
FLAGGED_BY = (
    "content-filter (hate_speech, harassment)",
    "content-filter (five categories)",
    "safety-filter (toxicity)",
)


def _add(totals: dict[str, list[int]], key: str, hit: bool) -> None:
    totals[key][0] += 1
    totals[key][1] += hit


# Floors of the quality gate (medium, ensemble): a margin of a few points below the README's
# figures (content-filter 0.784 / 0.013, five categories 0.718 / 0.028, safety-filter 0.676 / 0.013,
# hate_speech 0.691, harassment 0.828), so a regression fails the build and noise does not.
FLOORS: dict[tuple[str, str], tuple[str, float]] = {
    ("content", "content-filter (hate_speech, harassment) TPR"): (">=", 0.755),
    ("content", "content-filter (hate_speech, harassment) FPR"): ("<=", 0.02),
    ("content", "content-filter (five categories) TPR"): (">=", 0.69),
    ("content", "content-filter (five categories) FPR"): ("<=", 0.04),
    ("content", "safety-filter (toxicity) TPR"): (">=", 0.645),
    ("content", "safety-filter (toxicity) FPR"): ("<=", 0.02),
    ("content", "category hate_speech: content-filter (five)"): (">=", 0.66),
    ("content", "category harassment: content-filter (five)"): (">=", 0.80),
    # People's casual chat (README: 0.022, 0.038, 0.023 in ``fast``).
    ("content", "people's casual chat flagged: content-filter (hate_speech, harassment)"): ("<=", 0.03),
    ("content", "people's casual chat flagged: content-filter (five categories)"): ("<=", 0.045),
    ("content", "people's casual chat flagged: safety-filter (toxicity)"): ("<=", 0.03),
    # Tool users' requests (README: 0.000, 0.003, 0.000 in ``fast``).
    ("content", "tool users' requests flagged: content-filter (hate_speech, harassment)"): ("<=", 0.006),
    ("content", "tool users' requests flagged: content-filter (five categories)"): ("<=", 0.01),
    ("content", "tool users' requests flagged: safety-filter (toxicity)"): ("<=", 0.006),
    # Medication questions (README: 0.004, 0.012, 0.004 in ``fast``).
    ("content", "medication questions flagged: content-filter (hate_speech, harassment)"): ("<=", 0.01),
    ("content", "medication questions flagged: content-filter (five categories)"): ("<=", 0.02),
    ("content", "medication questions flagged: safety-filter (toxicity)"): ("<=", 0.01),
}
