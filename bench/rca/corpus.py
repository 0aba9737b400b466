"""The benchmark's corpus: `corpus.toml` read into cases, fault-free and seasonal runs."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from aiops_simulate.traffic import SHAPES

CORPUS = Path(__file__).with_name("corpus.toml")
SPLITS = ("tune", "holdout")


class CorpusError(ValueError):
    """The corpus file says something the benchmark cannot run."""


@dataclass(frozen=True, slots=True)
class Case:
    """One seeded fault case: `plan_case(seed, topology, kinds, ...)`."""

    id: str
    seed: int
    topology: str
    kinds: tuple[str, ...]
    partial: bool
    ramp: bool
    split: str
    warmup_s: float
    tail_s: float
    fault_s: float | None = None


@dataclass(frozen=True, slots=True)
class FaultFree:
    """Hours of fault-free traffic: every incident opened in it is a false one."""

    id: str
    seed: int
    topology: str
    hours: float
    split: str
    traffic: str = "diurnal"  # the simulator's traffic shape: "diurnal", "bursty", "steady"


@dataclass(frozen=True, slots=True)
class Seasonal:
    """Days with a nightly routine and one last-day fault: `plan_seasonal(seed, topology, days)`."""

    id: str
    seed: int
    topology: str
    days: int
    split: str
    traffic: str = "diurnal"
    rate_scale: float = 0.25  # x the topology's traffic: five days at full rate are too slow


Item = Case | FaultFree | Seasonal


@dataclass(frozen=True, slots=True)
class Corpus:
    cases: tuple[Case, ...]
    fault_free: tuple[FaultFree, ...]
    seasonal: tuple[Seasonal, ...] = ()

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def items(self) -> list[Item]:
        return [*self.cases, *self.fault_free, *self.seasonal]


def load(path: Path = CORPUS) -> Corpus:
    """The corpus at `path`; a malformed entry is a CorpusError naming it."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"{path}: {exc}") from None
    defaults = raw.get("defaults", {})
    cases = tuple(_case(n, entry, defaults) for n, entry in enumerate(raw.get("case", [])))
    free = tuple(_fault_free(n, entry) for n, entry in enumerate(raw.get("fault_free", [])))
    seasonal = tuple(_seasonal(n, entry) for n, entry in enumerate(raw.get("seasonal", [])))
    corpus = Corpus(cases, free, seasonal)
    seen: set[str] = set()
    for name in corpus.ids:
        if name in seen:
            raise CorpusError(f"{path}: the id {name!r} is used twice")
        seen.add(name)
    return corpus


def _case(n: int, entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> Case:
    where = f"case {n} ({entry.get('id', '?')})"
    kinds = entry.get("kinds")
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        raise CorpusError(f"{where}: 'kinds' must be a non-empty list of fault kinds")
    fault_s = entry.get("fault_s", defaults.get("fault_s"))
    return Case(
        id=_text(where, entry, "id"),
        seed=_int(where, entry, "seed"),
        topology=_text(where, entry, "topology"),
        kinds=tuple(kinds),
        partial=bool(entry.get("partial", False)),
        ramp=bool(entry.get("ramp", False)),
        split=_split(where, entry),
        warmup_s=float(entry.get("warmup_s", defaults.get("warmup_s", 600))),
        tail_s=float(entry.get("tail_s", defaults.get("tail_s", 120))),
        fault_s=None if fault_s is None else float(fault_s),
    )


def _fault_free(n: int, entry: Mapping[str, Any]) -> FaultFree:
    where = f"fault_free {n} ({entry.get('id', '?')})"
    hours = entry.get("hours")
    if not isinstance(hours, int | float) or hours <= 0:
        raise CorpusError(f"{where}: 'hours' must be a positive number")
    return FaultFree(
        id=_text(where, entry, "id"),
        seed=_int(where, entry, "seed"),
        topology=_text(where, entry, "topology"),
        hours=float(hours),
        split=_split(where, entry),
        traffic=_traffic(where, entry),
    )


def _seasonal(n: int, entry: Mapping[str, Any]) -> Seasonal:
    where = f"seasonal {n} ({entry.get('id', '?')})"
    days = _int(where, entry, "days")
    if days < 1:
        raise CorpusError(f"{where}: 'days' must be at least 1")
    scale = entry.get("rate_scale", 0.25)
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not 0 < scale <= 1:
        raise CorpusError(f"{where}: 'rate_scale' must be a number in (0, 1]")
    return Seasonal(
        id=_text(where, entry, "id"),
        seed=_int(where, entry, "seed"),
        topology=_text(where, entry, "topology"),
        days=days,
        split=_split(where, entry),
        traffic=_traffic(where, entry),
        rate_scale=float(scale),
    )


def _traffic(where: str, entry: Mapping[str, Any]) -> str:
    traffic = entry.get("traffic", "diurnal")
    if traffic not in SHAPES:
        raise CorpusError(f"{where}: 'traffic' must be one of {', '.join(sorted(SHAPES))}")
    return str(traffic)


def _text(where: str, entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise CorpusError(f"{where}: '{key}' must be a non-empty string")
    return value


def _int(where: str, entry: Mapping[str, Any], key: str) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CorpusError(f"{where}: '{key}' must be an integer")
    return value


def _split(where: str, entry: Mapping[str, Any]) -> str:
    value = entry.get("split")
    if value not in SPLITS:
        raise CorpusError(f"{where}: 'split' must be one of {', '.join(SPLITS)}")
    return str(value)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which part of the corpus a run covers; `full` when it is all of it."""

    split: str = "all"
    kinds: tuple[str, ...] = ()
    topologies: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    limit: int | None = None
    fault_free: bool = True
    seasonal: bool = True

    @property
    def full(self) -> bool:
        return self == Selection()


class Selected(NamedTuple):
    cases: list[Case]
    fault_free: list[FaultFree]
    seasonal: list[Seasonal]


def select(corpus: Corpus, selection: Selection) -> Selected:
    """What `selection` keeps, in corpus order; an unknown id raises. A kind is about faults
    cases inject: it leaves the fault-free and seasonal runs out."""
    unknown = set(selection.ids) - set(corpus.ids)
    if unknown:
        raise CorpusError(f"no such case: {', '.join(sorted(unknown))}")
    cases = [c for c in corpus.cases if _keeps(selection, c.split, c.topology, c.id, c.kinds)]
    free: list[FaultFree] = []
    if selection.fault_free and not selection.kinds:
        free = [r for r in corpus.fault_free if _keeps(selection, r.split, r.topology, r.id, ())]
    seasonal: list[Seasonal] = []
    if selection.seasonal and not selection.kinds:
        seasonal = [r for r in corpus.seasonal if _keeps(selection, r.split, r.topology, r.id, ())]
    if selection.limit is not None:
        cases = cases[: selection.limit]
        free = free[: max(0, selection.limit - len(cases))]
        seasonal = seasonal[: max(0, selection.limit - len(cases) - len(free))]
    return Selected(cases, free, seasonal)


def _keeps(
    selection: Selection, split: str, topology: str, name: str, kinds: Iterable[str]
) -> bool:
    return (
        selection.split in ("all", split)
        and (not selection.topologies or topology in selection.topologies)
        and (not selection.ids or name in selection.ids)
        and (not selection.kinds or bool(set(kinds) & set(selection.kinds)))
    )


def by_id(corpus: Corpus, name: str) -> Item:
    found = [item for item in corpus.items if item.id == name]
    if not found:
        raise CorpusError(f"no such case: {name}")
    return found[0]
