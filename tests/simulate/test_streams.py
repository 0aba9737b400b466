"""Labelled metric streams (aiops_simulate.streams*): seeded, sane, and what each family claims."""

from __future__ import annotations

import math
import statistics
from datetime import timedelta

import pytest

from aiops_simulate import STREAM_FAMILIES, STREAM_KINDS, Stream, make_stream
from aiops_simulate.streams import DAY, HISTORY_S, HOUR, LATE_S


def short(family: str, seed: int, kind: str | None = None, name: str | None = None) -> Stream:
    """Three days at one-minute steps: short streams keep these tests fast."""
    return make_stream(family, seed, step_s=60, days=3.0, kind=kind, name=name)


def shifted(stream: Stream, i: int, days: int = 1) -> float:
    """The value the same time of day `days` earlier: the season, matched."""
    return stream.values[i - round(days * DAY / stream.step_s)]


def index(stream: Stream, seconds: float) -> int:
    return round(seconds / stream.step_s)


@pytest.mark.parametrize("family", list(STREAM_FAMILIES))
def test_the_same_seed_draws_the_same_stream_and_another_seed_another(family: str) -> None:
    one, again = short(family, 11), short(family, 11)
    assert one == again
    assert one.values != short(family, 12).values


@pytest.mark.parametrize("step_s", [60, 300])
@pytest.mark.parametrize("family", list(STREAM_FAMILIES))
def test_values_are_finite_within_their_kind_and_labels_lie_after_two_days(
    family: str, step_s: int
) -> None:
    for seed in (1, 2, 3):
        s = make_stream(family, seed, step_s=step_s, days=3.0 if step_s == 60 else 7.0)
        kind = STREAM_KINDS[s.kind]
        assert len(s) == round(s.days * DAY / step_s)
        assert all(math.isfinite(v) for v in s.values)
        if kind.non_negative:
            assert min(s.values) >= 0
        if kind.ceiling is not None:
            assert max(s.values) <= kind.ceiling
        for a, b in zip(s.labels, s.labels[1:], strict=False):
            assert a.end < b.start  # in order, apart
        for label in s.labels:
            assert s.start + timedelta(seconds=HISTORY_S) <= label.start < label.end <= s.end
            assert label.sign in (-1, 0, 1)
            if s.direction == "up":
                assert label.sign >= 0
            if s.direction == "down":
                assert label.sign <= 0
        assert bool(s.labels) == (family not in ("daily", "weekly", "trend"))


def test_late_faults_start_after_the_first_week() -> None:
    for family in ("spike", "dip", "level_shift", "tiny"):
        s = make_stream(family, 5, step_s=300, days=14, late=True)
        assert s.labels
        assert all(s.offset(label.start) >= LATE_S for label in s.labels)
    with pytest.raises(ValueError, match="longer than"):
        make_stream("dip", 5, step_s=300, days=7, late=True)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_level_shift_moves_the_level_by_its_factor_for_good(seed: int) -> None:
    s = make_stream("level_shift", seed, step_s=60, days=5.0, kind="latency")
    [label] = s.labels
    assert label.end - label.start == timedelta(hours=2)
    i0, factor = index(s, s.offset(label.start)), s.params["factor"]
    assert factor >= 1.5 or factor == 0.5
    # Each point after the labelled window against the same time of day before the shift.
    after = range(i0 + index(s, 2 * HOUR), min(len(s), i0 + index(s, DAY)))
    ratio = sum(s.values[i] for i in after) / sum(shifted(s, i) for i in after)
    assert ratio == pytest.approx(factor, rel=0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_dip_is_30_to_70_percent_down_for_20_minutes_to_2_hours(seed: int) -> None:
    s = short("dip", seed)
    for label in s.labels:
        assert label.sign == -1
        assert timedelta(minutes=19) <= label.end - label.start <= timedelta(hours=2)
        span = range(index(s, s.offset(label.start)), index(s, s.offset(label.end)) + 1)
        ratio = sum(s.values[i] for i in span) / sum(shifted(s, i) for i in span)
        assert 0.25 <= ratio <= 0.75


def test_a_spike_stands_5_sds_or_more_off_its_neighbours() -> None:
    s = short("spike", 3, kind="latency")
    assert 2 <= len(s.labels) <= 4
    for label in s.labels:
        assert label.end - label.start == timedelta(minutes=30)
        i = index(s, s.offset(label.start))
        around = [s.values[j] for j in (*range(i - 20, i - 1), *range(i + 4, i + 20))]
        sd = s.params["noise"] * statistics.fmean(around)
        assert abs(s.values[i] - statistics.fmean(around)) >= 3 * sd


def test_a_flat_line_holds_one_value_for_an_hour_or_more() -> None:
    s = short("flatline", 8)
    [label] = s.labels
    span = s.values[index(s, s.offset(label.start)) : index(s, s.offset(label.end)) + 1]
    assert len(set(span)) == 1
    assert span[0] == s.params["stuck_at"]
    assert label.end - label.start >= timedelta(minutes=59)
    assert (label.sign == -1) == (span[0] == 0)


def test_noise_change_raises_the_spread_not_the_level() -> None:
    s = short("noise", 2, kind="latency")
    [label] = s.labels
    span = range(index(s, s.offset(label.start)), index(s, s.offset(label.end)) + 1)
    inside = [s.values[i] / shifted(s, i) for i in span]
    assert statistics.fmean(s.values[i] for i in span) == pytest.approx(
        statistics.fmean(shifted(s, i) for i in span), rel=0.1
    )
    spread = statistics.pstdev(math.log(v) for v in inside)
    assert spread >= 1.4 * math.sqrt(2) * s.params["noise"]  # sd x1.7-2.4 (variance x3-6)


def test_tiny_and_huge_values_and_their_jumps() -> None:
    tiny = short("tiny", 4)
    assert 1e-4 < statistics.median(tiny.values) < 1e-2
    for label in tiny.labels:
        span = range(index(tiny, tiny.offset(label.start)), index(tiny, tiny.offset(label.end)))
        assert sum(tiny.values[i] for i in span) / sum(shifted(tiny, i) for i in span) >= 5
    huge = short("huge", 4)
    assert 1e8 < statistics.median(huge.values) < 1e13
    assert {label.kind for label in huge.labels} <= {"jump", "drop"}


def test_saturation_pins_a_cpu_near_40_percent_at_60_to_100() -> None:
    s = short("saturation", 6)
    assert 25 <= statistics.median(s.values) <= 55
    for label in s.labels:
        span = s.values[index(s, s.offset(label.start)) : index(s, s.offset(label.end))]
        assert 55 <= statistics.fmean(span) <= 100


def test_counts_are_small_integers_and_a_drop_is_to_zero() -> None:
    drops = [short("counts", seed) for seed in range(1, 9)]
    for s in drops:
        assert all(v == int(v) for v in s.values)
        assert statistics.fmean(s.values) < 6
    zero = [(s, lab) for s in drops for lab in s.labels if lab.kind == "drop"]
    assert zero
    for s, label in zero:
        assert not any(s.values[index(s, s.offset(label.start)) : index(s, s.offset(label.end))])


def test_a_daily_cycle_peaks_at_2_to_3_times_its_trough_and_weekends_are_quieter() -> None:
    daily = make_stream("daily", 1, step_s=300, days=7, kind="throughput")
    by_hour = [
        statistics.fmean(v for i, v in enumerate(daily.values) if (i * 300 // 3600) % 24 == h)
        for h in range(24)
    ]
    assert 1.7 <= max(by_hour) / min(by_hour) <= 3.5
    weekly = make_stream("weekly", 1, step_s=300, days=14)
    day = [statistics.fmean(weekly.values[d * 288 : (d + 1) * 288]) for d in range(14)]
    weekend, weekdays = [day[d] for d in (5, 6, 12, 13)], [day[d] for d in (0, 1, 2, 3, 4)]
    assert 0.45 <= statistics.fmean(weekend) / statistics.fmean(weekdays) <= 0.85


def test_a_trend_grows_slowly_and_is_not_labelled() -> None:
    s = make_stream("trend", 2, step_s=300, days=10, kind="latency")
    first, last = statistics.fmean(s.values[:288]), statistics.fmean(s.values[-288:])
    assert 1.1 <= last / first <= 2.1
    assert s.labels == ()


def test_truth_entries_name_the_series_and_the_window() -> None:
    s = short("dip", 3, name="checkout-rate")
    [entry, *_] = s.truth()
    assert entry["series"] == "checkout-rate"
    assert set(entry) == {"series", "start", "end", "kind"}
    assert entry["kind"] == "dip"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"family": "nope"}, "unknown stream family"),
        ({"family": "dip", "kind": "nope"}, "unknown metric kind"),
        ({"family": "dip", "direction": "up"}, "cannot hold"),
        ({"family": "dip", "days": 2.0}, "more than 2.5 days"),
    ],
)
def test_what_cannot_be_drawn_is_refused(kwargs: dict[str, object], match: str) -> None:
    family = str(kwargs.pop("family"))
    with pytest.raises(ValueError, match=match):
        make_stream(family, 1, **kwargs)  # type: ignore[arg-type]  # wrong on purpose
