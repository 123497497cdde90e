"""Context that lowers the models' content scores: the heuristics' dampers, read for the models.

A bag of words cannot tell "you are an idiot" from "the word idiot comes from Greek" or "he called
me an idiot": the heuristics' dampers (academic discussion, negated or reported speech,
help-seeking, medical education, fiction and history; ``content_signals``) can. The ensemble
multiplies each model score by the damping these signals give its category, as the heuristics do
for their own scores.
"""

from __future__ import annotations

from keeptrust_guard import content_signals
from keeptrust_guard.normalize import views
from keeptrust_guard.signals import Hits, Table, run, word_keys

_DAMPERS = Table([s for s in content_signals.SIGNALS if s.weight < 0])


def damping(text: str) -> dict[str, float]:
    """Per category, the factor in (0, 1] the dampers that match ``text`` give (absent: 1)."""
    skeleton = views(text).skeleton
    hits = Hits()
    for category in content_signals.CATEGORIES:
        # Dampers only run for a category that has a hit: one placeholder each, so all are tried.
        hits.add_named("model", category, 0.5)
    run(_DAMPERS, {"skeleton": skeleton}, word_keys(skeleton), hits, user_turn=False)
    out: dict[str, float] = {}
    for sig, weight in hits.weights.values():
        if weight < 0:
            out[sig.category] = out.get(sig.category, 1.0) * (1.0 + max(weight, -1.0))
    return out
