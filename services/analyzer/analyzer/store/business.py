"""The shop's business metrics, per analysis window, from checkout's own server spans.

What an operator is paged for is often not an error rate but fewer orders or less money:
a payment fault that declines a card in ten goes unseen at checkout's 200s while
conversion drops. So the `POST /checkout` spans of each analysis window `[start, end)` (the
very window the cycle reads spans for) give three series, judged like any other metric
series (metric_cycle) in the same cycle as the window's span anomalies, so that root-cause
analysis, which groups the anomalies of one cycle, puts a conversion drop with the error
spike behind it:

- `checkout:checkouts_per_minute`: the orders that succeeded (2xx, no failure recorded),
  as a rate per minute (count x 60 / the window's seconds), so a longer catch-up window
  reads on the same scale;
- `checkout:conversion`: those over every attempt;
- `checkout:revenue_per_minute`: the sum of their `order.amount` (the attribute checkout
  puts on its span with `aiops_telemetry.annotate`), amounts summed as sent, per minute too.

A window with fewer attempts than `min_attempts` (the detection's `min_samples`) gives no
point at all, not a 0: a share of a handful of requests is noise (one decline in two is a
50 % conversion), and an idle or stopped shop is what the silence detector judges from the
spans; a 0 here would only repeat it, and teach the series that quiet nights sell nothing.
"""

from __future__ import annotations

from datetime import datetime

from aiops_engine.metrics import Direction, MetricPoint
from aiops_telemetry import Connection

SERVICE, ROUTE = "checkout", "/checkout"
CHECKOUTS = "checkout:checkouts_per_minute"
CONVERSION = "checkout:conversion"
REVENUE = "checkout:revenue_per_minute"
# Fewer orders or more both say something broke; less conversion or revenue is the trouble.
DIRECTIONS = {CHECKOUTS: Direction.BOTH, CONVERSION: Direction.DOWN, REVENUE: Direction.DOWN}

# In [$1, $2): attempts, successes and their amounts. A span a client left (cancelled) is an
# attempt that did not convert; an amount that is not a number, none.
_WINDOW_SQL = """
SELECT count(*) AS attempts,
       count(*) FILTER (WHERE ok) AS successes,
       coalesce(sum(amount) FILTER (WHERE ok), 0) AS revenue
FROM telemetry
CROSS JOIN LATERAL (
    SELECT coalesce(status_code BETWEEN 200 AND 299, false) AND error_kind IS NULL,
           CASE WHEN jsonb_typeof(attributes -> 'order.amount') = 'number'
                THEN (attributes ->> 'order.amount')::float8 END
) AS o (ok, amount)
WHERE "timestamp" >= $1 AND "timestamp" < $2
    AND kind = 'server' AND service_name = $3 AND endpoint = $4 AND method = 'POST'
"""


async def business_points(
    conn: Connection, start: datetime, end: datetime, *, min_attempts: int
) -> list[MetricPoint]:
    """The window `[start, end)`'s three points, dated at its end; none at all when it held
    fewer than `min_attempts` checkout attempts (see the module's docstring)."""
    seconds = (end - start).total_seconds()
    if seconds <= 0:
        return []
    row = await conn.fetchrow(_WINDOW_SQL, start, end, SERVICE, ROUTE)
    attempts = 0 if row is None else int(row["attempts"])
    if row is None or attempts < max(min_attempts, 1):
        return []
    per_minute = 60.0 / seconds
    values = {
        CHECKOUTS: row["successes"] * per_minute,
        CONVERSION: row["successes"] / attempts,
        REVENUE: float(row["revenue"]) * per_minute,
    }
    return [MetricPoint(series, end, value, SERVICE) for series, value in values.items()]
