"""How often the pii-detector alters people's casual chat.

    python eval/chat.py [--profile fast] [--part held-out|training] [--show 40]

The turns are the BYU Chit-Chat Challenge conversations (MIT) in the ``chitchat_dataset`` 0.9.0
wheel, split as keeptrust-guard's evaluation splits them (``thirdparty.chitchat_split``: one
conversation in five held out, 1,000 of its turns; 1,500 turns of the others). They carry no PII
labels, so the share of turns altered is not a false-positive rate: many altered spans are people
the speakers talk about ("Mark Twain", a friend). ``--show`` prints the most frequent spans, which
is where false names show ("Hey", "Yep" before the lower-case word list).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
GUARD_EVAL = HERE.parents[1] / "keeptrust_guard" / "eval"


def turns(part: str) -> list[str]:
    sys.path.insert(0, str(GUARD_EVAL))
    from thirdparty import chitchat_split

    training, held_out = chitchat_split()
    return held_out if part == "held-out" else training


def altered(texts: list[str], profile: str = "accurate") -> tuple[int, Counter[str]]:
    """The number of texts the detector alters and the spans it finds, counted."""
    sys.path.insert(0, str(HERE))
    from evaluate import ENTITIES, policy_analyzer

    found = policy_analyzer(profile=profile, entities=ENTITIES)(texts)
    values = Counter(text[s:e] for text, spans in zip(texts, found, strict=True) for _, s, e in spans)
    return sum(1 for spans in found if spans), values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="accurate", choices=["accurate", "fast"])
    parser.add_argument("--part", default="held-out", choices=["held-out", "training"])
    parser.add_argument("--show", type=int, default=0, help="print the N most frequent spans")
    args = parser.parse_args()
    texts = turns(args.part)
    count, spans = altered(texts, args.profile)
    share = count / len(texts)
    print(f"people's chat ({args.part}, {args.profile}): {count}/{len(texts)} = {share:.1%} of turns altered")
    for value, n in spans.most_common(args.show):
        print(f"{n:4d}  {value!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
