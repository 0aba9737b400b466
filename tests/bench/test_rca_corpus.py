"""The committed corpus is what the benchmark promises: enough cases of every kind, two splits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from aiops_simulate import TOPOLOGIES, FaultKind
from bench.rca.corpus import CORPUS, Corpus, CorpusError, Selection, load, select
from bench.rca.make_corpus import render
from bench.rca.results import size_class


@pytest.fixture(name="corpus", scope="module")
def _corpus() -> Corpus:
    return load()


def test_there_are_200_cases_and_20_of_every_kind(corpus: Corpus) -> None:
    assert len(corpus.cases) >= 200
    kinds = Counter(k for case in corpus.cases for k in set(case.kinds))
    assert set(kinds) == {k.value for k in FaultKind}
    assert min(kinds.values()) >= 20


def test_partial_ramped_and_double_faults_are_all_there(corpus: Corpus) -> None:
    assert sum(c.partial for c in corpus.cases) >= 20
    assert sum(c.ramp for c in corpus.cases) >= 20
    doubles = [c for c in corpus.cases if len(c.kinds) == 2]
    assert len(doubles) >= 20
    assert all(len(set(c.kinds)) == len(c.kinds) for c in corpus.cases)


def test_every_name_is_one_the_simulator_knows_and_every_size_is_covered(corpus: Corpus) -> None:
    used = {c.topology for c in corpus.cases} | {r.topology for r in corpus.fault_free}
    assert used <= set(TOPOLOGIES)
    sizes = {len(TOPOLOGIES[name].services) for name in {c.topology for c in corpus.cases}}
    assert {size_class(n) for n in sizes} == {"small", "medium", "large"}
    assert max(sizes) >= 50


def test_ids_and_seeds_are_unique_and_holdout_is_about_a_third(corpus: Corpus) -> None:
    assert len(set(corpus.ids)) == len(corpus.ids)
    seeds = [item.seed for item in corpus.items]
    assert len(set(seeds)) == len(seeds)  # so no holdout seed is ever a tune seed
    holdout = sum(c.split == "holdout" for c in corpus.cases) / len(corpus.cases)
    assert 0.25 <= holdout <= 0.4
    assert {r.split for r in corpus.fault_free} == {"tune", "holdout"}


def test_fault_free_runs_total_a_day_or_more(corpus: Corpus) -> None:
    assert sum(r.hours for r in corpus.fault_free) >= 24


def test_the_file_is_what_its_script_lays_out() -> None:
    """The TOML is the source of truth; the script only documents how it was laid out."""
    assert CORPUS.read_text() == render()


def test_a_repeated_id_or_a_bad_split_is_refused(tmp_path: Path) -> None:
    entry = 'id = "a"\nseed = 1\ntopology = "shop10"\nkinds = ["cpu"]\nsplit = "tune"\n'
    path = tmp_path / "corpus.toml"
    path.write_text(f"[[case]]\n{entry}\n[[case]]\n{entry}")
    with pytest.raises(CorpusError, match="used twice"):
        load(path)
    path.write_text("[[case]]\n" + entry.replace('"tune"', '"train"'))
    with pytest.raises(CorpusError, match="split"):
        load(path)


def test_a_selection_filters_cases_and_leaves_fault_free_runs_out_when_asked(
    corpus: Corpus,
) -> None:
    cases, free, _ = select(corpus, Selection(kinds=("kill",), split="holdout"))
    assert cases
    assert all("kill" in c.kinds and c.split == "holdout" for c in cases)
    assert free == []  # a kind is about faults: fault-free runs have none
    cases, free, _ = select(corpus, Selection(limit=3))
    assert len(cases) == 3
    assert free == []
    cases, free, _ = select(corpus, Selection(topologies=("shop10",)))
    assert {c.topology for c in cases} == {"shop10"}
    assert free
    assert select(corpus, Selection())[0] == list(corpus.cases)
    with pytest.raises(CorpusError, match="no such case"):
        select(corpus, Selection(ids=("nope",)))
