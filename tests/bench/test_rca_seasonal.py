"""Seasonal runs: their corpus entries, the per-day count of routine incidents, their section.

No replay here (five simulated days take minutes): the classification and
the report are pure, fed hand-made incidents and results.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.rca.cli import cost
from bench.rca.corpus import Corpus, CorpusError, Seasonal, Selection, by_id, load, select
from bench.rca.headline import readme_block
from bench.rca.markdown import markdown
from bench.rca.metrics import summarise
from bench.rca.report import Meta, report_json
from bench.rca.results import FalseIncident, FaultResult
from bench.rca.seasonal import SeasonalResult, classify, failed_seasonal, section, target

MONDAY = datetime(2025, 3, 3, tzinfo=UTC)
DAY = timedelta(days=1)
SPELLS = [
    (MONDAY + n * DAY + timedelta(hours=2, minutes=20), MONDAY + n * DAY + timedelta(hours=3))
    for n in range(5)
]
ENTRY = """
[[seasonal]]
id = "habit"
seed = 5
topology = "shop10"
days = 5
split = "tune"
"""


def at(moment: datetime) -> FalseIncident:
    return FalseIncident(f"INC-{moment:%d%H%M}", moment.isoformat(), "shop-db", [], "slow")


def result(by_day: list[int], *, rank: int | None = 1, other: int = 0) -> SeasonalResult:
    fault = FaultResult(
        "recommendation", "/api/recommendations", "latency", "2025-03-07T14:00:00+00:00",
        "2025-03-07T14:05:00+00:00", rank is not None, None if rank is None else 6.0,
        {"engine": rank, "growth": rank, "pagerank": None}, {},
    )  # fmt: skip
    extra = [at(MONDAY + timedelta(hours=9))] * other
    return SeasonalResult(
        "habit-shop10", "tune", "shop10", len(by_day), 12, by_day, fault, [], extra,
        1000, 100, len(by_day) * 86400.0, 90.0,
    )  # fmt: skip


def corpus_of(tmp_path: Path, text: str) -> Corpus:
    path = tmp_path / "corpus.toml"
    path.write_text(text)
    return load(path)


def test_a_seasonal_entry_loads_with_diurnal_traffic_and_a_quarter_rate_by_default(
    tmp_path: Path,
) -> None:
    corpus = corpus_of(tmp_path, ENTRY)
    assert corpus.seasonal == (Seasonal("habit", 5, "shop10", 5, "tune", "diurnal", 0.25),)
    assert corpus.ids == ["habit"]
    assert by_id(corpus, "habit") == corpus.seasonal[0]
    lower = corpus_of(tmp_path, ENTRY + "rate_scale = 0.1\n")
    assert lower.seasonal[0].rate_scale == 0.1


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("days = 5", "days = 0"), "'days' must be at least 1"),
        (("days = 5", "days = 2.5"), "'days' must be an integer"),
        (('split = "tune"', 'split = "train"'), "'split' must be one of"),
        (('split = "tune"', 'split = "tune"\ntraffic = "weekly"'), "'traffic' must be one of"),
        (('split = "tune"', 'split = "tune"\nrate_scale = 0'), "'rate_scale' must be"),
    ],
)
def test_a_malformed_seasonal_entry_is_refused_naming_it(
    tmp_path: Path, change: tuple[str, str], complaint: str
) -> None:
    with pytest.raises(CorpusError, match=rf"seasonal 0 \(habit\): {complaint}"):
        corpus_of(tmp_path, ENTRY.replace(*change))


def test_a_seasonal_id_may_not_repeat_a_case_id(tmp_path: Path) -> None:
    case = '[[case]]\nid = "habit"\nseed = 1\ntopology = "shop10"\nkinds = ["cpu"]\n'
    with pytest.raises(CorpusError, match="used twice"):
        corpus_of(tmp_path, case + 'split = "tune"\n' + ENTRY)


def test_seasonal_runs_are_selected_by_split_and_id_and_left_out_by_a_kind(
    tmp_path: Path,
) -> None:
    corpus = corpus_of(
        tmp_path, ENTRY + ENTRY.replace('"habit"', '"other"').replace("tune", "holdout")
    )
    assert [r.id for r in select(corpus, Selection()).seasonal] == ["habit", "other"]
    assert [r.id for r in select(corpus, Selection(split="holdout")).seasonal] == ["other"]
    assert [r.id for r in select(corpus, Selection(ids=("other",))).seasonal] == ["other"]
    assert select(corpus, Selection(kinds=("latency",))).seasonal == []
    assert select(corpus, Selection(seasonal=False)).seasonal == []


def test_the_committed_corpus_has_a_tune_and_a_holdout_five_day_run() -> None:
    runs = {r.id: r for r in load().seasonal}
    assert set(runs) == {"habit-shop10", "habit-fanout15"}
    assert {r.split for r in runs.values()} == {"tune", "holdout"}
    assert all(r.days == 5 and r.traffic == "diurnal" for r in runs.values())


def test_an_incident_counts_for_the_day_whose_spell_it_opens_in_up_to_5_min_after() -> None:
    incidents = [
        at(SPELLS[0][0] + timedelta(minutes=3)),
        at(SPELLS[0][1] + timedelta(minutes=5)),  # the grace's last moment: still the routine
        at(SPELLS[1][1] + timedelta(minutes=6)),  # past it: another false incident
        at(SPELLS[2][0] - timedelta(minutes=1)),  # before the spell: another
        at(SPELLS[3][0]),
        at(MONDAY + 4 * DAY + timedelta(hours=14)),
    ]
    split = classify(incidents, SPELLS)
    assert split.by_day == [2, 0, 0, 1, 0]
    assert split.routine == [incidents[0], incidents[1], incidents[4]]
    assert split.other == [incidents[2], incidents[3], incidents[5]]
    assert classify([], SPELLS).by_day == [0] * 5


def test_days_1_to_3_are_the_reference_and_only_days_4_on_are_judged() -> None:
    clean = result([2, 1, 1, 0, 0])
    assert (clean.learning, clean.judged) == (4, 0)
    goal = target([clean])
    assert goal is not None
    assert goal.met
    missed = target([clean, result([1, 1, 1, 0, 1])])
    assert missed is not None
    assert (missed.met, missed.value) == (False, 1)
    assert target([]) is None


def test_a_failed_seasonal_run_misses_the_target() -> None:
    broken = failed_seasonal(Seasonal("habit", 5, "shop10", 5, "tune"), "ValueError: no")
    goal = target([result([0, 0, 0, 0, 0]), broken])
    assert goal is not None
    assert not goal.met


def test_the_section_tables_each_run_by_day_with_the_fault_and_the_target() -> None:
    text = "\n".join(section([result([1, 1, 1, 0, 0], other=2)]))
    assert text.startswith("## Seasonality: a nightly batch\n")
    assert "| run | split | days | routine incidents by day |" in text
    assert "| habit-shop10 | tune | 5 | 1 1 1 0 0 | 1 / 1.2 windows | 2 |" in text
    assert "raised 3 incidents on days 1-3 and 0 once its hour was known" in text
    assert "- a daily routine raises no incident once 3 days are known (days 4+): met" in text
    missed = "\n".join(section([result([1, 1, 1, 1, 0], rank=None)]))
    assert "| 1 1 1 1 0 | not detected | 0 |" in missed
    assert "(days 4+): missed (1 routine incidents on days 4+)" in missed
    assert section([]) == []


def test_seasonal_runs_have_their_own_section_and_json_and_stay_out_of_the_other_rates() -> None:
    runs = [result([1, 1, 1, 0, 0], other=3)]
    summary = summarise([])
    meta = Meta("make benchmark-rca", 300.0, 2, 1000, 0, 0, full=True, seasonal=1)
    text = markdown(summary, [], meta, runs)
    assert text.index("## Seasonality") < text.index("## Faults the engine")
    assert "1 seasonal runs" in text
    assert "## Seasonality" not in markdown(summary, [], meta)
    payload = report_json(summary, [], meta, runs)
    assert payload["false_incidents"]["fault_free"]["incidents"] == 0  # the 3 are not in it
    assert payload["overall"]["faults"] == 0  # nor is the last-day fault
    assert len(payload["targets"]) == 6
    assert payload["seasonal_target"]["met"] is True
    row = payload["seasonal"][0]
    assert row["routine_incidents_by_day"] == [1, 1, 1, 0, 0]
    assert (row["fault_detected"], row["engine_rank"], row["ttd_windows"]) == (True, 1, 1.2)
    assert (row["other_false_incidents"], row["days"], row["wall_s"]) == (3, 5, 90.0)
    block = readme_block(summary, meta, runs)
    assert "Seasonality (1 runs" in block
    assert "habit-shop10 `1 1 1 0 0`" in block
    assert "Seasonality" not in readme_block(summary, meta)


def test_the_seasonal_runs_start_first_so_no_worker_ends_running_one_alone() -> None:
    corpus = load()
    longest = sorted(corpus.items, key=cost, reverse=True)[: len(corpus.seasonal)]
    assert {item.id for item in longest} == {r.id for r in corpus.seasonal}
