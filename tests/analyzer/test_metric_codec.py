"""A metric series' state survives storage: JSON and back is the same state, whatever it holds
(infinities included), its season handed back apart; and a state the engine learned reads back
judging exactly as before."""

from __future__ import annotations

import dataclasses
import json
import types
from datetime import UTC, datetime, timedelta
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops_engine.metrics import MetricConfig, MetricState, judge
from aiops_engine.metrics.codec import state_from_json, state_to_json

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def strategy(hint: Any) -> st.SearchStrategy[Any]:
    """Any value of `hint`, from the state's own type hints: a field the engine adds is
    generated too."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return st.one_of(*(strategy(arg) for arg in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=4).map(tuple)
        return st.tuples(*(strategy(arg) for arg in args))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = get_type_hints(hint)
        return st.builds(
            hint,
            **{
                f.name: strategy(hints[f.name])
                for f in dataclasses.fields(hint)
                if f.name != "season"
            },
        )
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        bool: st.booleans(),
        int: st.integers(-(2**53), 2**53),
        float: st.floats(allow_nan=False),  # infinities included; NaN is never equal
        str: st.text(),
        datetime: st.datetimes(timezones=st.sampled_from([UTC, None])),
    }
    return simple[hint]


@settings(max_examples=200, deadline=None)
@given(state=strategy(MetricState))
def test_any_state_reads_back_as_it_was_through_json_text(state: MetricState) -> None:
    document = json.loads(json.dumps(state_to_json(state), allow_nan=False))
    assert state_from_json(document) == state


def test_a_learned_state_with_its_season_judges_the_next_point_exactly_as_before() -> None:
    config = MetricConfig(min_points=5, new_normal_after=timedelta(minutes=30))
    state: MetricState | None = None
    for i in range(120):
        value = 40 + i % 7 + (60 if i >= 100 else 0)
        state, _ = judge(state, "db:cpu", T0 + timedelta(minutes=i), value, config)
    assert state is not None
    assert state.run is not None  # in the middle of a shift: the run is stored too
    restored = state_from_json(json.loads(json.dumps(state_to_json(state))), state.season)
    assert restored == state
    assert restored.season == state.season
    at = T0 + timedelta(minutes=120)
    assert judge(restored, "db:cpu", at, 100.0, config) == judge(state, "db:cpu", at, 100.0, config)


def test_a_document_of_another_version_or_shape_is_refused() -> None:
    state, _ = judge(None, "s", T0, 1.0, MetricConfig())
    assert state is not None
    document = state_to_json(state)
    with pytest.raises(ValueError, match="version"):
        state_from_json({**document, "v": 99})
    with pytest.raises(TypeError):
        state_from_json({**document, "scale": [1]})
    # An older document, without the fields added since (those with a default), reads with
    # their defaults.
    optional = {
        f.name
        for f in dataclasses.fields(MetricState)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    }
    required = {
        f.name: getattr(state, f.name)
        for f in dataclasses.fields(MetricState)
        if f.name not in optional
    }
    older = {k: v for k, v in document.items() if k not in optional}
    assert state_from_json(older) == MetricState(**required)
