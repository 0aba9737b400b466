"""The detection score's arithmetic (aiops_engine.metrics.scorecard), on constructed verdicts."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aiops_engine.metrics.scorecard import (
    FALSE_ALARM_COST,
    LEAD_S,
    Tally,
    Window,
    earned,
    runs,
    score_stream,
    total,
)

STEP = 60.0


@st.composite
def layouts(draw: st.DrawFn) -> tuple[int, list[Window]]:
    """A stream of n one-minute points and 1-4 windows on it, apart by more than the lead."""
    n = draw(st.integers(200, 600))
    count = draw(st.integers(1, 4))
    windows, at = [], draw(st.integers(0, 40))
    for _ in range(count):
        length = draw(st.integers(1, 60))
        if at + length >= n:
            break
        windows.append(Window(at * STEP, (at + length) * STEP))
        at += length + 1 + draw(st.integers(int(LEAD_S / STEP) + 1, 90))
    assume(windows)
    return n, windows


def times(n: int) -> list[float]:
    return [i * STEP for i in range(n)]


def at_starts(n: int, windows: list[Window]) -> list[bool]:
    flags = [False] * n
    for w in windows:
        flags[int(w.start / STEP)] = True
    return flags


@given(layouts())
def test_never_alarming_scores_0_and_alarming_at_every_start_scores_100(
    layout: tuple[int, list[Window]],
) -> None:
    n, windows = layout
    silent = Tally.of(score_stream(times(n), [False] * n, windows))
    assert silent.normalised == 0.0
    assert (silent.raw, silent.recall, silent.precision) == (-len(windows), 0.0, None)
    perfect = Tally.of(score_stream(times(n), at_starts(n, windows), windows))
    assert perfect.normalised == pytest.approx(100.0)
    assert (perfect.recall, perfect.precision, perfect.false_alarms) == (1.0, 1.0, 0)


@given(layouts(), st.lists(st.booleans(), min_size=600, max_size=600), st.data())
def test_one_more_alarm_outside_every_window_costs_exactly_0_11(
    layout: tuple[int, list[Window]], noise: list[bool], data: st.DataObject
) -> None:
    n, windows = layout
    flags = noise[:n]
    # An isolated point outside every window: a run of its own, one more onset, nothing else.
    free = [
        i for i in range(1, n - 1)
        if not any(flags[i - 1 : i + 2])
        and not any(w.start <= i * STEP <= w.end for w in windows)
    ]  # fmt: skip
    assume(free)
    i = data.draw(st.sampled_from(free))
    before = score_stream(times(n), flags, windows)
    after = score_stream(times(n), [*flags[:i], True, *flags[i + 1 :]], windows)
    assert after.raw == pytest.approx(before.raw - FALSE_ALARM_COST)
    assert after.false_alarms == before.false_alarms + 1
    assert [w.earned for w in after.windows] == [w.earned for w in before.windows]


@given(layouts(), st.data())
def test_a_later_alarm_in_a_window_earns_less(
    layout: tuple[int, list[Window]], data: st.DataObject
) -> None:
    n, windows = layout
    w = windows[0]
    first, last = int(w.start / STEP), int(w.end / STEP)
    assume(last > first)
    early = data.draw(st.integers(first, last - 1))
    late = data.draw(st.integers(early + 1, last))
    scores = []
    for at in (early, late):
        flags = [False] * n
        flags[at] = True
        scores.append(score_stream(times(n), flags, [w]).windows[0].earned)
    assert scores[0] > scores[1]
    assert 0.5 <= scores[1] < scores[0] <= 1.0
    assert earned(w.end, w) == pytest.approx(0.5)


@given(layouts(), st.lists(st.booleans(), min_size=600, max_size=600))
def test_the_score_is_bounded_and_precision_and_recall_are_shares(
    layout: tuple[int, list[Window]], noise: list[bool]
) -> None:
    n, windows = layout
    score = score_stream(times(n), noise[:n], windows)
    t = Tally.of(score)
    assert t.normalised is not None
    floor = -100 * FALSE_ALARM_COST * t.onsets / (2 * t.windows)
    assert floor - 1e-9 <= t.normalised <= 100.0 + 1e-9
    assert 0 <= t.detected <= t.windows
    assert t.precision is None or 0 <= t.precision <= 1
    assert len(score.onsets) == sum(
        flag and (i == 0 or not noise[i - 1]) for i, flag in enumerate(noise[:n])
    )


@settings(max_examples=50)
@given(st.lists(layouts(), min_size=1, max_size=4))
def test_a_corpus_score_is_normalised_over_all_its_windows(
    layouts_: list[tuple[int, list[Window]]],
) -> None:
    """Half the streams perfect, half silent: the corpus is at the share of windows caught."""
    scores = []
    for k, (n, windows) in enumerate(layouts_):
        flags = at_starts(n, windows) if k % 2 == 0 else [False] * n
        scores.append(score_stream(times(n), flags, windows))
    t = total(scores)
    caught = sum(len(s.windows) for k, s in enumerate(scores) if k % 2 == 0)
    assert t.normalised == pytest.approx(100 * caught / t.windows)


def test_runs_and_onsets() -> None:
    assert runs([]) == []
    assert runs([True, True, False, True, False, False, True]) == [(0, 1), (3, 3), (6, 6)]


@pytest.mark.parametrize(("began_min", "credited"), [(30, True), (10, True), (31, False)])
def test_a_run_already_on_at_a_window_counts_only_if_it_began_at_most_30_min_before(
    began_min: int, credited: bool
) -> None:
    window = Window(100 * STEP, 150 * STEP)
    flags = [100 - began_min <= i <= 110 for i in range(300)]
    score = score_stream(times(300), flags, [window])
    [result] = score.windows
    assert result.detected is credited
    assert result.earned == (1.0 if credited else -1.0)
    assert score.false_alarms == (0 if credited else 1)
    if credited:
        assert result.detected_at == window.start
        assert result.run_end == 110 * STEP


def test_a_run_that_ended_before_the_window_does_not_detect_it() -> None:
    window = Window(100 * STEP, 150 * STEP)
    flags = [90 <= i <= 99 for i in range(300)]
    score = score_stream(times(300), flags, [window])
    assert not score.windows[0].detected
    assert score.raw == pytest.approx(-1 - FALSE_ALARM_COST)


def test_an_alarm_midway_earns_three_quarters_and_its_run_end_is_kept() -> None:
    window = Window(0.0, 100 * STEP)
    flags = [50 <= i <= 60 for i in range(300)]
    [result] = score_stream(times(300), flags, [window]).windows
    assert math.isclose(result.earned, 0.75)
    assert result.run_end == 60 * STEP


def test_one_verdict_per_point() -> None:
    with pytest.raises(ValueError, match="one verdict per point"):
        score_stream(times(3), [False], [])


@pytest.mark.parametrize(("last", "on_after"), [(149, False), (150, False), (151, True)])
def test_whether_an_alarm_is_still_on_after_the_window_is_kept(last: int, on_after: bool) -> None:
    """What check (a) reads: a level shift's alarm must be over by its window's end."""
    window = Window(100 * STEP, 150 * STEP)
    flags = [100 <= i <= last for i in range(300)]
    [result] = score_stream(times(300), flags, [window]).windows
    assert result.detected
    assert result.on_after is on_after
