"use strict";
// The "Metric series" panel: every watched series, anomalous first, and for the
// one selected a chart of its value against what the analyzer expected: the
// expected line, the band it judges by (lower..upper) shaded, anomalous points
// in red and a marker where a new normal was adopted. Hovering a point shows
// its judgement and explanation.
//
// It reads GET metric-series (the last point of each series) and
// GET metric-series/{series}/points (the last hour, oldest first), refreshes
// with the rest of the page, and reports its own errors in its panel. It uses
// dashboard.js's helpers ($, el, svg, empty, classes, clock, ago, getJson,
// REFRESH_MS), which classic scripts share; its own names stay in this closure.
// `#series=<name>` in the address selects a series (a link to a chart).

(() => {
  const MINUTES = 60;
  const MAX_POINTS = 5000; // what one request may ask for; an hour of 1 s judgements fits
  const DIRECTION = { up: "alerts when higher", down: "alerts when lower", both: "alerts either way" };
  let selected = null; // the series charted: the address's, else the first listed
  let busy = false, again = false;

  // ---- Numbers: a few significant figures, whatever the scale --------------

  const finite = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const SI = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];

  function num(v, digits = 3) {
    if (finite(v) === null) return "–";
    const r = Number(v.toPrecision(digits)); // rounded first: 999.7 reads 1k, not 1000
    const a = Math.abs(r);
    if (a === 0) return "0";
    if (a >= 1e15 || a < 1e-3) return r.toExponential(digits - 1).replace(/\.?0+e/, "e").replace("e+", "e");
    const [scale, suffix] = SI.find(([s]) => a >= s) ?? [1, ""];
    return `${Number((r / scale).toPrecision(digits))}${suffix}`;
  }

  // Labels for axis ticks: the fewest figures (at least three) that tell them apart.
  function labels(values) {
    for (let digits = 3; digits < 12; digits++) {
      const out = values.map((v) => num(v, digits));
      if (new Set(out).size === out.length) return out;
    }
    return values.map((v) => String(v));
  }

  // Round values (1, 2, 2.5 or 5 times a power of ten apart) in lo..hi: the fewest, at least three.
  function niceTicks(lo, hi) {
    const power = 10 ** Math.floor(Math.log10((hi - lo) / 4));
    if (!(power > 0 && Number.isFinite(power))) return [];
    const within = (step) => {
      const ticks = [];
      for (let k = Math.ceil(lo / step); k * step <= hi && ticks.length < 50; k++) ticks.push(k * step);
      return ticks;
    };
    const options = [10, 5, 2.5, 2, 1].map((m) => within(m * power));
    return options.find((ticks) => ticks.length >= 3) ?? options.at(-1);
  }

  // The span of the values, padded; a flat series gets room around its value.
  function yDomain(values) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (hi - lo <= Math.abs(hi) * 1e-12) {
      const room = Math.abs(hi) * 0.1 || 1;
      [lo, hi] = [lo - room, hi + room];
    }
    const pad = (hi - lo) * 0.08;
    return [lo - pad, hi + pad];
  }

  const when = (t, long) => (long ? new Date(t).toLocaleString("en-GB") : clock(t));

  // ---- The list of series --------------------------------------------------

  const byConcern = (a, b) => Number(b.anomalous) - Number(a.anomalous)
    || (finite(b.score) ?? 0) - (finite(a.score) ?? 0) || (a.series < b.series ? -1 : a.series > b.series ? 1 : 0);

  function expectation(p) {
    if (finite(p.expected) === null) return "learning: nothing expected yet";
    const banded = finite(p.lower) !== null && finite(p.upper) !== null;
    const band = banded ? ` (band ${num(p.lower)} to ${num(p.upper)})` : "";
    return `expected ${num(p.expected)}${band}`;
  }

  function renderList(rows) {
    $("metric-count").textContent = rows.filter((r) => r.anomalous).length || "";
    if (!rows.length) {
      $("metric-list").replaceChildren(el("li", { class: "empty muted", text: "No metric series watched yet." }));
      return;
    }
    $("metric-list").replaceChildren(...rows.map((r) => el("li", {
      class: classes("metric-item", r.anomalous && "anomalous", r.series === selected && "selected"),
      "data-series": r.series,
    }, el("a", { href: `#series=${encodeURIComponent(r.series)}`,
      title: [[r.series, r.service, DIRECTION[r.direction] ?? r.direction].filter(Boolean).join(" · "),
        r.explanation].filter(Boolean).join("\n") },
      el("span", { class: "metric-name", text: r.series }),
      el("span", { class: "metric-facts muted" },
        r.anomalous && el("span", { class: "tag anomalous", text: "anomalous" }),
        r.at ? ` ${num(r.value)} · ${expectation(r)} · ${ago(r.at)}` : " nothing judged yet")))));
  }

  // ---- The chart -----------------------------------------------------------

  function chart(name, raw, now) {
    const points = raw.map((p) => ({ ...p, t: Date.parse(p.at), v: finite(p.value), e: finite(p.expected),
      lo: finite(p.lower), hi: finite(p.upper) })).filter((p) => !Number.isNaN(p.t));
    if (!points.length) return empty(`No judged points in the last ${MINUTES} minutes.`);
    const [W, H, L, R, T, B] = [720, 210, 58, 12, 14, 20];
    let [t0, t1] = [points[0].t, Math.max(now, points.at(-1).t)];
    if (t1 - t0 < 60_000) t0 = t1 - 60_000; // a single point sits at the right, not on the axis
    const values = points.flatMap((p) => [p.v, p.e, p.lo, p.hi]).filter((v) => v !== null);
    const [y0, y1] = values.length ? yDomain(values) : [-1, 1];
    const x = (t) => +(L + ((t - t0) / (t1 - t0)) * (W - L - R)).toFixed(1);
    const y = (v) => +(T + (1 - (v - y0) / (y1 - y0)) * (H - T - B)).toFixed(1);
    // Points further apart than 2.5 typical steps are not joined: a gap shows as a gap.
    const steps = points.slice(1).map((p, k) => p.t - points[k].t).sort((a, b) => a - b);
    const gap = 2.5 * (steps[Math.floor(steps.length / 2)] ?? Infinity);
    const joined = (k) => k > 0 && points[k].t - points[k - 1].t <= gap;

    const line = (key) => points.map((p, k) => (p[key] === null ? "" :
      `${joined(k) && points[k - 1][key] !== null ? "L" : "M"}${x(p.t)},${y(p[key])}`)).join("");
    const bands = [];
    points.forEach((p, k) => {
      if (p.lo === null || p.hi === null) return;
      const run = bands.at(-1);
      if (run && joined(k) && run.at(-1) === points[k - 1]) run.push(p);
      else bands.push([p]);
    });
    const bandPath = (run) => `M${run.map((p) => `${x(p.t)},${y(p.hi)}`).join("L")}`
      + `L${run.slice().reverse().map((p) => `${x(p.t)},${y(p.lo)}`).join("L")}Z`;

    const long = t1 - t0 > 20 * 3600_000;
    const describe = (p) => [`${when(p.t, long)} · value ${num(p.v)} · ${expectation(p)}`,
      `score ${num(p.score)}${p.anomalous ? " · ANOMALOUS" : ""}`, p.explanation].filter(Boolean).join("\n");
    const hits = points.map((p, k) => { // hover targets: a column per point, to its neighbours' midpoints
      const left = k ? (x(points[k - 1].t) + x(p.t)) / 2 : x(p.t) - 3;
      const right = k < points.length - 1 ? (x(p.t) + x(points[k + 1].t)) / 2 : x(p.t) + 3;
      return svg("rect", { class: "hit", x: left, y: T, width: Math.max(1, right - left), height: H - T - B },
        svg("title", { text: describe(p) }));
    });
    const anomalies = points.filter((p) => p.anomalous && p.v !== null);
    const adoptions = points.filter((p) => p.new_normal_since); // marked where adopted
    const yTicks = niceTicks(y0, y1), yLabels = labels(yTicks);
    const [expected, value] = [line("e"), line("v")];
    const tick = (tx, ty, text, anchor = "end") =>
      svg("text", { class: "tick", x: tx, y: ty, "text-anchor": anchor, text });

    const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${name}: value, expected, band` },
      yTicks.flatMap((v, k) => [svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        tick(L - 5, y(v) + 3, yLabels[k])]),
      svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }),
      tick(L, H - 5, when(t0, long), "start"),
      tick((L + W - R) / 2, H - 5, when((t0 + t1) / 2, long), "middle"),
      tick(W - R, H - 5, t1 === now ? "now" : when(t1, long)),
      bands.map((run) => svg("path", { class: "band", d: bandPath(run) })),
      expected && svg("path", { class: "expected", d: expected }),
      value && svg("path", { class: "value", d: value }),
      svg("g", { class: "hits" }, hits),
      adoptions.map((p) => svg("g", { class: "new-normal", "data-at": p.at, "data-since": p.new_normal_since },
        svg("title", { text: `New normal adopted at ${when(p.t, true)}: the level the series has held since `
          + `${when(Date.parse(p.new_normal_since), true)} is what is expected from here` }),
        svg("line", { x1: x(p.t), x2: x(p.t), y1: T - 4, y2: H - B }),
        tick(x(p.t) + 3, T + 4, "new normal", "start"))),
      anomalies.map((p) => svg("circle", { class: "anomaly", cx: x(p.t), cy: y(p.v), r: 3.5, "data-at": p.at },
        svg("title", { text: describe(p) }))));

    const last = points.at(-1);
    const facts = [`last ${num(last.v)}`, expectation(last),
      `${anomalies.length} of ${points.length} points anomalous`];
    return el("figure", { class: classes("metric-figure", last.anomalous && "hot"), "data-series": name },
      el("figcaption", {}, el("strong", { text: name }), el("span", { class: "muted", text: facts.join(" · ") })),
      plot);
  }

  // ---- Refresh and selection -----------------------------------------------

  function seriesFromHash() {
    const match = /^#series=(.+)$/.exec(location.hash);
    if (!match) return null;
    try {
      return decodeURIComponent(match[1]);
    } catch {
      return match[1];
    }
  }

  const notice = (text) => el("p", { class: "notice", text });

  async function refreshMetrics() {
    if (busy) {
      again = true; // a selection made meanwhile is drawn right after
      return;
    }
    busy = true;
    try {
      let rows;
      try {
        rows = (await getJson("metric-series")).slice().sort(byConcern);
      } catch (err) {
        $("metric-list").replaceChildren(el("li", {}, notice(`Unavailable: ${err.message}`)));
        return;
      }
      const known = rows.some((r) => r.series === selected);
      selected = seriesFromHash() ?? (known ? selected : rows[0]?.series ?? null);
      renderList(rows);
      if (selected === null) {
        $("metric-chart").replaceChildren(empty("No series selected."));
        return;
      }
      const name = selected, now = Date.now();
      const since = new Date(now - MINUTES * 60_000).toISOString();
      const query = `since=${encodeURIComponent(since)}&limit=${MAX_POINTS}`;
      try {
        const points = await getJson(`metric-series/${encodeURIComponent(name)}/points?${query}`);
        $("metric-chart").replaceChildren(chart(name, points, now));
      } catch (err) {
        $("metric-chart").replaceChildren(notice(`${name}: ${err.message}`));
      }
    } finally {
      busy = false;
      if (again) {
        again = false;
        refreshMetrics();
      }
    }
  }

  window.addEventListener("hashchange", () => {
    if (seriesFromHash() === null) return;
    refreshMetrics();
    $("metrics").scrollIntoView({ behavior: "smooth", block: "start" });
  });
  refreshMetrics();
  setInterval(refreshMetrics, REFRESH_MS);
})();
