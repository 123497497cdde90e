"""Cost of the heuristic, classifier and ensemble detectors on unique ~200-token messages, and on
adversarial megabyte strings.

    python benchmarks/bench_trained.py            # the table in the README
    python benchmarks/bench_trained.py --quick    # fewer messages
    python benchmarks/bench_trained.py --english-head   # fast prompt-injection with and without its English head
    python benchmarks/bench_trained.py --prefilter      # the signals' literal prefilters off and on, paired
    python benchmarks/bench_trained.py --short          # both profiles on people's chat turns and tool requests

Every message is different (real held-out texts from ``eval/data/thirdparty``, glued to 200 words
and numbered), so no cache can flatter a detector: "benign" traffic uses only the benign rows,
"attack" only the attack rows, "mixed" every row (jailbreak prompts dominate it by length). Figures are
per policy check of one message: p50 and p95 of the process's CPU time in milliseconds (on a
loaded machine wall-clock percentiles measure the scheduler: a check that is descheduled once takes
a whole time slice longer; process time also counts the BLAS threads of the accurate profile's
encoder), and each p50 as a ratio of the heuristic detector's, measured in the same run. The
ensemble runs in both profiles: ``fast`` (content's default) and ``accurate`` (prompt injection's
default: the sentence encoder on the texts the fast heads find suspect; its cache of recent
encodings is cleared before each message, so a text is encoded as if no other policy had read it).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))

import thirdparty
import thirdparty_content

from keeptrust_guard.detection import DetectorSetup, Segment
from keeptrust_guard.ensemble import ClassifierDetector, EnsembleDetector, ModelOptions
from keeptrust_guard.heuristic import HeuristicDetector, HeuristicOptions
from keeptrust_guard.token_cache import clear_token_caches

POLICIES = {
    "prompt-injection": ("prompt_injection", ("prompt_injection",)),
    "safety-filter": ("content", ("toxicity",)),
    "content-filter": ("content", ("hate_speech", "harassment", "self_harm", "sexual", "violence")),
}
DETECTORS = {
    "heuristic": (HeuristicDetector, HeuristicOptions),
    "classifier": (ClassifierDetector, lambda: ModelOptions(profile="fast")),
    "ensemble": (EnsembleDetector, lambda: ModelOptions(profile="fast")),
    "ensemble accurate": (EnsembleDetector, lambda: ModelOptions(profile="accurate")),
}


def messages(count: int, words: int = 200, benign: bool = False, attack: bool = False) -> list[str]:
    rows = [r for rows in thirdparty.load("injection").values() for r in rows]
    if not attack:
        rows += [r for rows in thirdparty_content.load("content").values() for r in rows]
    pool = [str(r["text"]) for r in rows if not (benign and r["label"]) and not (attack and not r["label"])]
    out, i = [], 0
    for n in range(count):
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < words:
            parts.append(pool[i % len(pool)])
            i += 7
        out.append(f"({n}) " + " ".join(" ".join(parts).split()[:words]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--english-head", action="store_true", help="only the paired cost of the fast profile's English injection head"
    )
    parser.add_argument("--prefilter", action="store_true", help="only the paired cost of the signals' prefilters")
    parser.add_argument(
        "--short", action="store_true", help="only the cost on people's chat turns and tool users' requests, as sent"
    )
    args = parser.parse_args()
    count = 200 if args.quick else 1000
    if args.english_head:
        english_head(300)
        return
    if args.prefilter:
        prefilter(300)
        return
    if args.short:
        short()
        return
    print("| traffic | policy | detector | p50 ms | p95 ms | p50 / heuristic p50 |\n|---|---|---|---|---|---|")
    for traffic, texts in (
        ("benign", messages(count, benign=True)),
        ("attack", messages(count, attack=True)),
        ("mixed", messages(count)),
    ):
        table(traffic, texts)
    adversarial()


def table(traffic: str, texts: list[str]) -> None:
    for policy, (task, categories) in POLICIES.items():
        base = None
        for name, (cls, options) in DETECTORS.items():
            det = cls(options(), DetectorSetup("bench", task, categories, logging.getLogger("bench"), "bench"))
            # The models share their per-token caches: each detector meets the messages' tokens as a
            # fresh process would, not after the previous column's run over the same messages.
            clear_token_caches()
            det.scan([Segment("warm up", "user")])
            encoder = getattr(det, "encoder", None)
            times = []
            for text in texts:
                if encoder is not None:
                    encoder.clear_cache()
                start = time.process_time()
                det.scan([Segment(text, "user")])
                times.append((time.process_time() - start) * 1e3)
            times.sort()
            p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
            base = base or p50
            print(f"| {traffic} | {policy} | {name} | {p50:.3f} | {p95:.3f} | {p50 / base:.2f}x |")


def short() -> None:
    """Each ensemble profile on short texts as people send them, one at a time: the held-out turns of
    people's casual chat (``thirdparty.chitchat_turns``) and the held-out tool users' requests
    (``thirdparty.tool_user_split``). Every text is unique; the encoder's cache is cleared before each.
    The mean counts what the encoder costs on the few texts a gate passes."""
    print("| texts | policy | profile | p50 ms | p95 ms | mean ms |\n|---|---|---|---|---|---|")
    for kind, texts in (
        ("people's chat turns", thirdparty.chitchat_turns()),
        ("tool users' requests", thirdparty.tool_user_split()[1]),
    ):
        for policy, (task, categories) in POLICIES.items():
            for profile in ("fast", "accurate"):
                setup = DetectorSetup("bench", task, categories, logging.getLogger("bench"), "bench")
                det = EnsembleDetector(ModelOptions(profile=profile), setup)
                clear_token_caches()
                det.scan([Segment("warm up", "user")])
                times = []
                for text in texts:
                    if det.encoder is not None:
                        det.encoder.clear_cache()
                    start = time.process_time()
                    det.scan([Segment(text, "user")])
                    times.append((time.process_time() - start) * 1e3)
                mean = sum(times) / len(times)
                times.sort()
                p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
                print(f"| {kind} ({len(texts)}) | {policy} | {profile} | {p50:.3f} | {p95:.3f} | {mean:.3f} |")


def english_head(count: int) -> None:
    """The ``fast`` prompt-injection check with its English head and with the word head reading every
    text (its previous form), in one process, each message read by both in turn (the order
    alternating), so the machine's drift falls on both alike."""
    setup = DetectorSetup("bench", "prompt_injection", ("prompt_injection",), logging.getLogger("bench"), "bench")
    with_head = EnsembleDetector(ModelOptions(profile="fast"), setup)
    word_head = EnsembleDetector(ModelOptions(profile="fast"), setup)
    assert word_head.injection is not None
    word_head.injection_english = None
    word_head._gate = float(word_head.injection.meta["cascade_gate"])
    for det in (with_head, word_head):
        clear_token_caches()
        det.scan([Segment("warm up", "user")])
    for traffic, texts in (
        ("benign", messages(count, benign=True)),
        ("attack", messages(count, attack=True)),
    ):
        times: dict[str, list[float]] = {"word head alone": [], "with the English head": []}
        for i, text in enumerate(texts):
            pair = (("word head alone", word_head), ("with the English head", with_head))
            for name, det in pair if i % 2 else pair[::-1]:
                start = time.process_time()
                det.scan([Segment(text, "user")])
                times[name].append((time.process_time() - start) * 1e3)
        for name, got in times.items():
            got.sort()
            print(f"{traffic}, {name}: p50 {got[len(got) // 2]:.3f} ms, p95 {got[int(len(got) * 0.95)]:.3f} ms")


def prefilter(count: int) -> None:
    """Each detector with the signals' literal prefilters (``prefilter.py``) switched off and on, in one
    process, each message read both ways in turn (the order alternating), so the machine's drift falls
    on both alike. Off, every signal a trigger word wakes is searched, as before the prefilters."""
    from keeptrust_guard import signals

    admits = signals.admits
    print("| traffic | policy | detector | p50 ms, prefilters off | on | on / off |\n|---|---|---|---|---|---|")
    for traffic, texts in (("benign", messages(count, benign=True)), ("attack", messages(count, attack=True))):
        for policy, (task, categories) in POLICIES.items():
            for name, (cls, options) in DETECTORS.items():
                if name == "classifier":
                    continue  # no signals
                det = cls(options(), DetectorSetup("bench", task, categories, logging.getLogger("bench"), "bench"))
                clear_token_caches()
                det.scan([Segment("warm up", "user")])
                encoder = getattr(det, "encoder", None)
                times: dict[str, list[float]] = {"off": [], "on": []}
                for i, text in enumerate(texts):
                    for mode in ("off", "on") if i % 2 else ("on", "off"):
                        signals.admits = admits if mode == "on" else (lambda *_: True)
                        if encoder is not None:
                            encoder.clear_cache()
                        start = time.process_time()
                        det.scan([Segment(text, "user")])
                        times[mode].append((time.process_time() - start) * 1e3)
                signals.admits = admits
                p50 = {mode: sorted(got)[len(got) // 2] for mode, got in times.items()}
                print(f"| {traffic} | {policy} | {name} | {p50['off']:.3f} | {p50['on']:.3f} | "
                      f"{p50['on'] / p50['off']:.2f} |")


def adversarial() -> None:
    print("\nadversarial strings, ensemble (time for 1 MiB / time for 256 KiB; linear is 4):")
    for label, unit in (
        ("'a ' repeated", "a "),
        ("'ignore ' repeated", "ignore "),
        ("one long word", "x"),
        ("base64-like", "aGVsbG8gd29ybGQ="),
    ):
        for policy, (task, categories) in POLICIES.items():
            for profile in ("fast", "accurate"):
                det = EnsembleDetector(
                    ModelOptions(profile=profile),
                    DetectorSetup("bench", task, categories, logging.getLogger("bench"), "bench"),
                )
                got = []
                for size in (1 << 18, 1 << 20):
                    text = (unit * (size // len(unit) + 1))[:size]
                    start = time.process_time()
                    det.scan([Segment(text, "user")])
                    got.append(time.process_time() - start)
                print(f"  {label:20s} {policy:16s} {profile:8s} 1 MiB {got[1]:.2f} s, ratio {got[1] / got[0]:.1f}")


if __name__ == "__main__":
    main()
