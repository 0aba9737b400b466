"""Play one scenario against the running stack and score what the analyzer concluded.

The run is: a healthy stack with established baselines; traffic for the whole
run; a clean board (no open incident, no active anomaly), so whatever opens
is this scenario's doing; a warm-up; the faults, each at its time, while the
open incidents are polled; clean-up, always; then the score. A cold start
replaces the first three: the analyzer restarted with nothing learned and
the board resolved before the first request (`cold_start.py`), and the
analyzer's learned state put back in the clean-up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiops_api.analyzer import Incident

from ._types import Log
from .business_metric import metric_linked, missed_note
from .cold_start import LearnedState, restore_learned_state, start_cold
from .load import LoadConfig, run_load
from .prepare import Traffic, await_baselines, pause, quiet_start, resolve_all
from .results import ScenarioResult
from .scenarios import Fault, Scenario
from .scoring import (
    all_named,
    describe_incident,
    merge_incidents,
    note_sightings,
    score,
    summary_line,
    verdict_notes,
)
from .stack import SHOP, Stack, StackError


@dataclass(frozen=True, slots=True)
class RunOptions:
    poll_s: float = 0.5  # between looks at the open incidents
    # End the observation once every expected cause is named (with its expected business-metric
    # anomaly, if any) ...
    stop_early: bool = True
    hold_polls: int = 4  # ... for this many polls in a row ...
    settle_s: float = 10.0  # ... and the last fault has been in place this long (for timelines)
    baseline_timeout_s: float = 120.0  # traffic at most this long for baselines to establish
    quiet_timeout_s: float = 90.0  # at most this long for active anomalies to age out
    ttl_margin_s: float = 10.0  # faults outlive the observation by this, should clean-up fail


@dataclass(slots=True)
class _Observed:
    """What the fault phase saw; local to one run."""

    fault_at: datetime | None = None
    first_seen: dict[str, datetime] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)  # containers to start again
    notes: list[str] = field(default_factory=list)


async def run_scenario(
    stack: Stack, scenario: Scenario, *, log: Log = print, options: RunOptions | None = None
) -> ScenarioResult:
    """Run `scenario` on `stack` (entered) and score it; faults are cleared whatever happens."""
    options = options or RunOptions()
    stack.settings.require_chaos_token()
    await stack.check_health()
    leftover = await stack.clear_faults()  # an interrupted earlier run may have left some
    if any(leftover.values()):
        log(f"cleared faults left over from an earlier run: {leftover}")
    log(f"{scenario.name}: {scenario.description}")
    log(f"fault: {scenario.fault_summary()}; expected root cause: {_causes(scenario)}")
    observed = _Observed()
    learned: LearnedState | None = None
    if scenario.cold_start:  # before any traffic: the first request comes after it
        learned = await start_cold(stack, log, observed.notes)
    try:
        started_at, fault_until, ended_at = await _play(
            stack, scenario, observed, log, options, cold=learned is not None
        )
    finally:  # after the incidents were read: the restarts must not add to the run's
        if learned is not None:
            observed.notes += await restore_learned_state(stack, learned, log)
    scored = score(
        scenario.expected,
        observed.incidents,
        started_at=started_at,
        fault_at=observed.fault_at,
        first_seen=observed.first_seen,
    )
    within, ttd = scenario.expect.detect_within_s, scored.time_to_detect_s
    notes = observed.notes + verdict_notes(within, bool(scenario.faults), ttd, scored.incidents)
    series = scenario.expect.business_metric
    since = observed.fault_at or started_at
    linked = metric_linked(scenario.expected, series, scored.incidents, since=since)
    if series is not None and linked is False:
        notes.append(missed_note(series, scenario.expected))
    try:
        samples = await stack.samples(started_at, ended_at)
    except StackError as exc:
        samples, notes = [], [*notes, f"no timeline: {exc}"]
    result = ScenarioResult(
        name=scenario.name,
        description=scenario.description,
        fault=scenario.fault_summary(),
        expected_root_cause=scenario.expected,
        started_at=started_at,
        fault_at=observed.fault_at,
        fault_until=fault_until if scenario.faults else None,
        detected=scored.detected,
        detected_at=scored.detected_at,
        time_to_detect_s=scored.time_to_detect_s,
        rca_top1_correct=scored.rca_top1_correct,
        rca_top3_correct=scored.rca_top3_correct,
        false_positives=scored.false_positives,
        false_negatives=scored.false_negatives,
        incidents=scored.incidents,
        samples=samples,
        notes=notes,
        expected_business_metric=series,
        business_metric_linked=linked,
    )
    for incident in result.incidents:
        log(describe_incident(incident))
    log(summary_line(result))
    return result


async def _play(
    stack: Stack,
    scenario: Scenario,
    observed: _Observed,
    log: Log,
    options: RunOptions,
    *,
    cold: bool,
) -> tuple[datetime, datetime, datetime]:
    """Traffic, a warm or cold start, the faults and the clean-up; the incidents as the run
    ends go to `observed`. Returns when the run started, its last fault went, and it ended."""
    if cold:  # a clean board before the first request
        await resolve_all(stack, log)
    stop = asyncio.Event()
    started_at = datetime.now(UTC)  # a cold start's first request
    traffic = asyncio.create_task(run_load(_load_config(stack, scenario, options), stop=stop))
    try:
        if cold:
            log(f"warm-up: the first {scenario.traffic.warmup_s:g} s of traffic the analyzer sees")
        else:
            timeout = options.baseline_timeout_s
            await await_baselines(stack, traffic, observed.notes, log, timeout_s=timeout)
            timeout = options.quiet_timeout_s
            started_at = await quiet_start(stack, traffic, observed.notes, log, timeout_s=timeout)
            log(f"warm-up: {scenario.traffic.warmup_s:g} s of normal traffic")
        await pause(traffic, scenario.traffic.warmup_s)
        await _fault_phase(stack, scenario, traffic, started_at, observed, log, options)
    finally:
        fault_until = await _clean_up(stack, stop, traffic, observed, log)
    ended_at = datetime.now(UTC)
    observed.incidents = merge_incidents(observed.incidents, await stack.incidents())
    return started_at, fault_until, ended_at


def _load_config(stack: Stack, scenario: Scenario, options: RunOptions) -> LoadConfig:
    # A bound, not the plan: the run sets `stop` when it is done.
    longest = options.baseline_timeout_s + options.quiet_timeout_s + 300
    longest += scenario.traffic.warmup_s + scenario.traffic.observe_s
    url = stack.settings.url
    return LoadConfig(
        checkout_url=url("checkout"),
        payment_url=url("payment"),
        inventory_url=url("inventory"),
        rate=scenario.traffic.rate,
        duration_s=min(longest, 86_400),
        seed=scenario.traffic.seed,
    )


async def _fault_phase(
    stack: Stack,
    scenario: Scenario,
    traffic: Traffic,
    started_at: datetime,
    observed: _Observed,
    log: Log,
    options: RunOptions,
) -> None:
    """Inject each fault on time while polling open incidents, for observe_s or until named."""
    loop = asyncio.get_running_loop()
    pending = sorted(scenario.faults, key=lambda f: f.at_s)
    active: dict[tuple[str, str | None, str], str] = {}
    observe = scenario.traffic.observe_s
    begin, held, last_fault = loop.time(), 0, 0.0
    while (elapsed := loop.time() - begin) < observe:
        while pending and pending[0].at_s <= elapsed:
            observed.fault_at = observed.fault_at or datetime.now(UTC)
            ttl = observe - elapsed + options.ttl_margin_s
            await _inject(stack, pending.pop(0), ttl, active, observed, log)
            last_fault = elapsed
        # Detections count from the first fault; for a control, from the clean start.
        since = observed.fault_at or started_at
        incidents = await stack.open_incidents()
        seen = observed.first_seen
        if observed.fault_at or not scenario.faults:
            seen = note_sightings(seen, incidents, since=since, now=datetime.now(UTC))
        for incident in incidents:
            if incident.id in seen.keys() - observed.first_seen.keys():
                cause = incident.root_cause
                log(f"+{elapsed:.1f} s: incident {incident.id} open, root cause {cause}")
        observed.first_seen = seen
        observed.incidents = merge_incidents(observed.incidents, incidents)
        named = not pending and all_named(scenario.expected, incidents, since=since)
        # ... and the business impact it expects linked to it, or the report would miss it.
        series = scenario.expect.business_metric
        linked = metric_linked(scenario.expected, series, incidents, since=since)
        named = named and linked is not False
        held = held + 1 if named else 0
        settled = elapsed - last_fault >= options.settle_s
        if options.stop_early and settled and held >= options.hold_polls:
            log(f"+{elapsed:.1f} s: every expected root cause named; ending the observation")
            return
        wait = options.poll_s if not pending else min(options.poll_s, pending[0].at_s - elapsed)
        await pause(traffic, wait)
    log(f"observed for {observe:g} s")


async def _inject(
    stack: Stack,
    fault: Fault,
    ttl_s: float,
    active: dict[tuple[str, str | None, str], str],
    observed: _Observed,
    log: Log,
) -> None:
    if fault.kind == "stop":
        observed.stopped.append(fault.service)  # first: a stop that half-happened is undone too
        log(f"fault: {fault.describe()} (`docker compose stop {fault.service}`)")
        await stack.stop_service(fault.service)
        return
    # A later fault of the same kind on the same target replaces the earlier one (a ramp).
    key = (fault.service, fault.endpoint, fault.kind)
    if key in active:
        await stack.remove_fault(fault.service, active.pop(key))
    active[key] = await stack.inject(fault, ttl_s=ttl_s)
    log(f"fault: {fault.describe()} (ttl {ttl_s:.0f} s)")


async def _clean_up(
    stack: Stack, stop: asyncio.Event, traffic: Traffic, observed: _Observed, log: Log
) -> datetime:
    """Clear every fault, start stopped containers, stop traffic; never raises. Returns when
    the last fault was gone."""
    try:  # a stopped container has no faults: its chaos book went with its process
        removed = await stack.clear_faults(tuple(s for s in SHOP if s not in observed.stopped))
        log(f"clean-up: faults cleared ({sum(removed.values())} removed)")
    except StackError as exc:
        observed.notes.append(f"clean-up: {exc}")
        log(observed.notes[-1])
    for service in observed.stopped:
        try:
            log(f"clean-up: starting {service} again")
            await stack.start_service(service)
        except StackError as exc:
            observed.notes.append(f"clean-up: {service} did not come back: {exc}")
            log(observed.notes[-1])
    until = datetime.now(UTC)
    stop.set()
    try:
        stats = await asyncio.wait_for(traffic, timeout=30)
        log(stats.summary())
    except Exception as exc:  # traffic's own failure must not hide the run's
        log(f"clean-up: traffic ended with {exc!r}")
    return until


def _causes(scenario: Scenario) -> str:
    return ", ".join(map(str, scenario.expected)) or "none (a control expects no incident)"
