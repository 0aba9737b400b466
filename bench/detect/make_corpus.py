"""How `corpus.toml` was laid out: `python -m bench.detect.make_corpus > bench/detect/corpus.toml`.

The TOML is the source of truth (a test checks it is what this renders): six streams of
every family, at both resolutions, the faults of two of them after the first week; the third
and sixth of each family are held out. Seeds count up from 3001, so none repeats.
"""

from __future__ import annotations

from aiops_simulate import STREAM_FAMILIES

HEADER = """\
# The detection benchmark's corpus (`make benchmark-detect`); docs/benchmark-detect.md.
#
# Each [[stream]] is aiops_simulate.make_stream(family, seed, step_s=, days=, kind=,
# direction=, late=), drawn on the fly: nothing but this list is stored. `late` puts the
# stream's faults after its first week (seasonal detectors know a whole week by then).
#
# split: "tune" streams may guide engine work; "holdout" streams (the third and sixth of
# each family, a third of the corpus) are never used for tuning: their results are looked
# at only to report holdout scores, never to choose a setting. Every stream has its own
# seed, so no holdout seed is a tune seed.
# Laid out by bench/detect/make_corpus.py; this file is the source of truth.
"""
# (step_s, days, late) per position; the unlabelled families are longer, for the week after.
HABITS = ((60, 7, False), (300, 14, False), (300, 21, False),
          (60, 5, False), (300, 14, False), (300, 10, False))  # fmt: skip
TRENDS = ((60, 5, False), (300, 14, False), (60, 7, False),
          (300, 10, False), (60, 4, False), (300, 21, False))  # fmt: skip
FAULTS = ((60, 5, False), (300, 14, False), (60, 7, False),
          (300, 14, True), (60, 3, False), (300, 21, True))  # fmt: skip
LAYOUT = {"daily": HABITS, "weekly": HABITS, "trend": TRENDS}


def render() -> str:
    blocks = [HEADER]
    seed = 3000
    for family in STREAM_FAMILIES:
        for n, (step_s, days, late) in enumerate(LAYOUT.get(family, FAULTS), 1):
            seed += 1
            split = "holdout" if n % 3 == 0 else "tune"
            lines = [
                "[[stream]]",
                f'id = "{family}-{n}"',
                f'family = "{family}"',
                f"seed = {seed}",
                f"step_s = {step_s}",
                f"days = {days}",
                *(["late = true"] if late else []),
                f'split = "{split}"',
            ]
            blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


if __name__ == "__main__":
    print(render(), end="")
