"""The benchmark's corpus: `corpus.toml` read into entries, each a seeded labelled stream."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from aiops_simulate import STREAM_FAMILIES, STREAM_KINDS, Stream, make_stream
from aiops_simulate.streams import Direction

CORPUS = Path(__file__).with_name("corpus.toml")
SPLITS = ("tune", "holdout")
DIRECTIONS = ("up", "down", "both")


class CorpusError(ValueError):
    """The corpus file says something the benchmark cannot run."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream: `make_stream(family, seed, step_s=, days=, kind=, direction=, late=)`."""

    id: str
    family: str
    seed: int
    step_s: int
    days: float
    split: str
    kind: str | None = None
    direction: Direction | None = None
    late: bool = False

    def stream(self) -> Stream:
        return make_stream(
            self.family,
            self.seed,
            step_s=self.step_s,
            days=self.days,
            kind=self.kind,
            direction=self.direction,
            late=self.late,
            name=self.id,
        )


def load(path: Path = CORPUS) -> list[Entry]:
    """The corpus at `path`; a malformed entry is a CorpusError naming it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"{path}: {exc}") from None
    entries = [_entry(n, e) for n, e in enumerate(raw.get("stream", []))]
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise CorpusError(f"{path}: the id {entry.id!r} is used twice")
        seen.add(entry.id)
    return entries


def _entry(n: int, e: Mapping[str, Any]) -> Entry:
    where = f"stream {n} ({e.get('id', '?')})"
    for key, kind in (("id", str), ("family", str), ("seed", int), ("step_s", int)):
        if not isinstance(e.get(key), kind) or isinstance(e.get(key), bool):
            raise CorpusError(f"{where}: '{key}' must be a {kind.__name__}")
    if e["family"] not in STREAM_FAMILIES:
        raise CorpusError(f"{where}: no family {e['family']!r}")
    if e.get("kind") is not None and e["kind"] not in STREAM_KINDS:
        raise CorpusError(f"{where}: no metric kind {e['kind']!r}")
    if e.get("direction") is not None and e["direction"] not in DIRECTIONS:
        raise CorpusError(f"{where}: 'direction' must be one of {', '.join(DIRECTIONS)}")
    if e.get("split") not in SPLITS:
        raise CorpusError(f"{where}: 'split' must be one of {', '.join(SPLITS)}")
    days = e.get("days")
    if not isinstance(days, int | float) or isinstance(days, bool) or days <= 0:
        raise CorpusError(f"{where}: 'days' must be a positive number")
    return Entry(
        id=e["id"],
        family=e["family"],
        seed=e["seed"],
        step_s=e["step_s"],
        days=float(days),
        split=e["split"],
        kind=e.get("kind"),
        direction=cast("Direction | None", e.get("direction")),
        late=bool(e.get("late", False)),
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """Which part of the corpus a run covers; `full` when it is all of it."""

    split: str = "all"
    families: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    limit: int | None = None

    @property
    def full(self) -> bool:
        return self == Selection()


def select(entries: list[Entry], selection: Selection) -> list[Entry]:
    """What `selection` keeps, in corpus order; an unknown id or family raises."""
    unknown = set(selection.ids) - {e.id for e in entries}
    unknown |= {f"family {f}" for f in set(selection.families) - set(STREAM_FAMILIES)}
    if unknown:
        raise CorpusError(f"no such stream: {', '.join(sorted(unknown))}")
    kept = [
        e
        for e in entries
        if selection.split in ("all", e.split)
        and (not selection.families or e.family in selection.families)
        and (not selection.ids or e.id in selection.ids)
    ]
    return kept if selection.limit is None else kept[: selection.limit]
