"""Writes `corpus.toml` once: `python -m bench.rca.make_corpus > bench/rca/corpus.toml`.

The TOML is the source of truth and is committed; this script only records
how its list was laid out, so the layout can be read and, if ever needed,
regenerated. Every case gets its own seed; the split is fixed here, by
position (every third case in the list's order is held out), never by results.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator

KINDS = ("latency", "cpu", "network", "http_error", "exception", "kill", "db_slow")
TOPOLOGIES = ("chain6", "shop10", "diamond12", "fanout15", "system40", "mesh50")
RAMPED = tuple(k for k in KINDS if k != "kill")  # a process dies at once: a kill has no ramp
# A consumer losing most of its messages: only systems with queue consumers have one.
DROPPING = ("diamond12", "system40", "mesh50")
# Smooth days and bursty ones (bursts x2-4, idle stretches): false alarms are counted in both.
FAULT_FREE = (
    ("shop10", 6, "bursty"),
    ("system40", 6, "diurnal"),
    ("mesh50", 6, "bursty"),
    ("diamond12", 6, "diurnal"),
)
# Five days with a nightly batch (plan_seasonal): days 1-3 learn the habit, days 4-5 judge it.
SEASONAL = (
    ("habit-shop10", 9601, "shop10", 5, "diurnal", "tune"),
    ("habit-fanout15", 9602, "fanout15", 5, "diurnal", "holdout"),
)

HEADER = """\
# The root-cause benchmark's corpus (`make benchmark-rca`); docs/benchmark-rca.md.
#
# Each [[case]] is planned by aiops_simulate.plan_case(seed, topology, kinds,
# partial=, ramp=, warmup_s=, tail_s=) and generated on the fly: nothing but
# this list is stored. Two kinds = two simultaneous faults on different services.
#
# split: "tune" cases may guide engine work; "holdout" cases (every third case
# in this list's order, about a third of each group) are never used for tuning:
# their results are looked at only to report holdout scores, never to choose a
# setting, and no holdout seed is a tune seed.
#
# [[fault_free]] runs (plan_fault_free, diurnal or bursty traffic) count false incidents.
# [[seasonal]] runs (plan_seasonal): days with a nightly routine, then one fault.
# Laid out by bench/rca/make_corpus.py; this file is the source of truth.
"""


def cases() -> Iterator[tuple[str, list[str], str, bool, bool]]:
    """(id, kinds, topology, partial, ramp) in a fixed order."""
    for kind, topology in itertools.product(KINDS, TOPOLOGIES):
        for n in (1, 2):
            yield f"single-{kind}-{topology}-{n}", [kind], topology, False, False
    for kind, topology in itertools.product(KINDS, TOPOLOGIES):
        yield f"partial-{kind}-{topology}", [kind], topology, True, False
    for kind, topology in itertools.product(RAMPED, TOPOLOGIES):
        yield f"ramp-{kind}-{topology}", [kind], topology, False, True
    rotation = itertools.cycle(TOPOLOGIES)
    for pair in itertools.combinations(KINDS, 2):
        for _ in range(3):
            topology = next(rotation)
            yield f"double-{'+'.join(pair)}-{topology}", list(pair), topology, False, False
    for topology, n in itertools.product(DROPPING, range(1, 8)):  # added later: appended
        yield f"single-drop-{topology}-{n}", ["drop"], topology, False, False


def render() -> str:
    out = [HEADER, "[defaults]", "warmup_s = 600", "tail_s = 120", ""]
    for n, (case_id, kinds, topology, partial, ramp) in enumerate(cases()):
        split = "holdout" if n % 3 == 2 else "tune"
        quoted = ", ".join(f'"{k}"' for k in kinds)
        out += [
            "[[case]]",
            f'id = "{case_id}"',
            f"seed = {1001 + n}",
            f'topology = "{topology}"',
            f"kinds = [{quoted}]",
            f"partial = {str(partial).lower()}",
            f"ramp = {str(ramp).lower()}",
            f'split = "{split}"',
            "",
        ]
    for n, (topology, hours, traffic) in enumerate(FAULT_FREE):
        out += [
            "[[fault_free]]",
            f'id = "quiet-{topology}"',
            f"seed = {9001 + n}",
            f'topology = "{topology}"',
            f"hours = {hours}",
            f'traffic = "{traffic}"',
            f'split = "{"holdout" if n % 3 == 2 else "tune"}"',
            "",
        ]
    for run_id, seed, topology, days, traffic, split in SEASONAL:
        out += [
            "[[seasonal]]",
            f'id = "{run_id}"',
            f"seed = {seed}",
            f'topology = "{topology}"',
            f"days = {days}",
            f'traffic = "{traffic}"',
            f'split = "{split}"',
            "",
        ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render())
