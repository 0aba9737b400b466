"use strict";
// The analyzer's dashboard. Every 5 s it reads the analyzer's JSON API and
// redraws each section in place: no reload, and an open trace stays open.
// Text from the API reaches the page only as text nodes and attribute
// values, never as markup, so a span name cannot inject anything.

const REFRESH_MS = 5000;
const LATENCY_MINUTES = 15;
const TRACE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/; // what GET /traces/{id} accepts
// The SVG namespace, taken from the parser rather than spelled out: the page
// holds no URL at all (a test checks), and this one is only a name.
const SVG_NS = new DOMParser().parseFromString("<svg></svg>", "text/html").querySelector("svg").namespaceURI;

const $ = (id) => document.getElementById(id);

function build(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child); // strings become text
  }
  return node;
}
const el = (tag, attrs = {}, ...children) => build(document.createElement(tag), attrs, children);
const svg = (tag, attrs = {}, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);
const empty = (text) => el("p", { class: "empty muted", text });
const classes = (...names) => names.filter(Boolean).join(" ");

const pct = (x) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
const ms = (v) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`);
const clock = (when) => new Date(when).toLocaleTimeString("en-GB");
const words = (name) => name.replace("_", " ");
const nameOf = (cause) => (cause.endpoint ? `${cause.service} ${cause.endpoint}` : cause.service);
function ago(when) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(when)) / 1000));
  return s < 90 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (response.ok) return response.json();
  let detail = response.statusText;
  try {
    const body = await response.json();
    if (typeof body.detail === "string") detail = body.detail;
  } catch { /* not JSON: keep the status text */ }
  throw new Error(`${detail} (HTTP ${response.status})`);
}

// ---- Header: health ----------------------------------------------------------

function renderHealth(h) {
  const pill = (text, good, title) => el("li", { class: classes("pill", good ? "ok" : "bad"), text, title });
  $("health").replaceChildren(
    pill(h.status, h.status === "ok", h.last_error),
    pill(h.role, true, h.identity),
    pill(`Redis ${h.redis.status}`, h.redis.status === "ok", h.redis.error),
    el("li", { class: "pill muted", text: `${h.cycles} cycles · ${h.baselines ?? 0} baselines` }));
}

// ---- Open incidents ----------------------------------------------------------

function meter(share) {
  const fill = el("span", { class: "fill" });
  fill.style.width = `${Math.min(1, Math.max(0, share)) * 100}%`;
  return el("span", { class: "meter", "aria-hidden": "true" }, fill);
}

function renderIncidents(active) {
  $("incident-count").textContent = active.length ? String(active.length) : "";
  $("incident-list").replaceChildren(...(active.length ? active.map(incidentCard) : [el("div", { class: "all-clear" },
    el("span", { class: "check", "aria-hidden": "true", text: "✓" }),
    el("div", {}, el("strong", { text: "No open incidents" }), el("p", {
      class: "muted", text: "Anomalies that share a root cause become one incident here, naming where it started.",
    })))]));
}

function incidentCard(i) {
  const candidates = i.candidates.slice(0, 3).map((c) => el("tr", {},
    el("td", { text: nameOf(c) }),
    el("td", { class: "share" }, meter(c.score), ` ${pct(c.score)}`),
    el("td", { class: "muted", text: c.evidence })));
  const anomalies = i.anomalies.slice(0, 3).map((a) => el("li", {},
    el("span", { class: `tag ${a.type}`, text: words(a.type) }), " ", a.explanation));
  const more = i.anomalies.length - anomalies.length;
  const traceLink = (id) => el("a", {
    class: "trace-link", href: `#trace=${encodeURIComponent(id)}`, "data-trace": id, title: id,
    text: id.length > 20 ? `${id.slice(0, 16)}…` : id,
  });
  return el("article", { class: `incident sev-${i.severity}`, "data-incident": i.id },
    el("div", { class: "incident-head" },
      el("span", { class: `severity sev-${i.severity}`, text: i.severity }),
      el("h3", { text: i.title }),
      el("span", { class: "status", text: i.status })),
    el("p", { class: "meta muted" },
      `${i.id} · opened ${clock(i.opened_at)} · last anomaly ${ago(i.last_anomaly_at)}`,
      i.reopen_count > 0 && ` · reopened ${i.reopen_count}×`),
    el("div", { class: "cause" },
      el("div", {}, el("span", { class: "label", text: "Root cause" }),
        el("strong", { class: "root-cause", "data-service": i.root_cause.service, text: nameOf(i.root_cause) })),
      el("div", { class: "confidence" }, el("span", { class: "label", text: "Confidence" }),
        meter(i.confidence), el("strong", { class: "confidence-value", text: pct(i.confidence) }))),
    el("p", { class: "explanation", text: i.explanation }),
    candidates.length > 0 && el("table", { class: "candidates" },
      el("caption", { text: "Top candidates" }), el("tbody", {}, candidates)),
    anomalies.length > 0 && el("ul", { class: "anomalies" }, anomalies,
      more > 0 && el("li", { class: "muted", text: `and ${more} more` })),
    i.sample_trace_ids.length > 0 && el("p", { class: "samples" },
      el("span", { class: "label", text: "Sample traces" }), i.sample_trace_ids.slice(0, 4).map(traceLink)));
}

// ---- Latency against baseline ------------------------------------------------

function renderCharts(data, hot) {
  if (!data.endpoints.length) {
    $("charts").replaceChildren(empty(`No requests in the last ${LATENCY_MINUTES} minutes.`));
    return;
  }
  // Zoom to the data there is, at least ten windows, so a young system's few
  // points are not squeezed into the right edge of a fifteen-minute axis.
  const until = Date.parse(data.until);
  const first = Math.min(until, ...data.endpoints.flatMap((e) => e.points.map((p) => Date.parse(p.start))));
  const since = Math.max(Date.parse(data.since), Math.min(first, until - 10 * data.bucket_s * 1000));
  $("charts").replaceChildren(...data.endpoints.map((e) => chart(e, since, until, data.bucket_s, hot.has(e.key))));
}

function chart(e, since, until, bucketS, hot) {
  const [W, H, L, R, T, B] = [240, 84, 42, 6, 8, 14];
  const base = e.baseline;
  const threshold = base?.threshold_ms ?? null;
  const points = e.points.map((p) => [Date.parse(p.start), p.p50_ms]);
  const top = 1.15 * Math.max(1, ...points.map((p) => p[1]), base?.level_ms ?? 0, threshold ?? 0);
  const x = (t) => L + ((t - since) / (until - since)) * (W - L - R);
  const y = (v) => T + (1 - v / top) * (H - T - B);
  // A gap of more than a bucket and a half is drawn as a gap, not a slope.
  const d = points.map(([t, v], k) =>
    `${k && t - points[k - 1][0] <= 1500 * bucketS ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`);
  const level = (v, cls) => svg("line", { class: cls, x1: L, x2: W - R, y1: y(v), y2: y(v) });
  const tick = (tx, ty, text, anchor = "end") =>
    svg("text", { class: "tick", x: tx, y: ty, "text-anchor": anchor, text });
  const over = points.filter(([, v]) => threshold !== null && v > threshold);
  const last = points.at(-1);
  const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${e.key} p50 latency` },
    svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }),
    tick(L - 4, T + 4, ms(top)), tick(L - 4, H - B, "0"),
    tick(L, H - 2, clock(since), "start"), tick(W - R, H - 2, "now"),
    base && level(base.level_ms, "baseline"),
    threshold !== null && level(threshold, "threshold"),
    d.length > 0 && svg("path", { class: "p50", d: d.join("") }),
    over.map(([t, v]) => svg("circle", { class: "over", cx: x(t), cy: y(v), r: 2.5 })),
    last && svg("circle", { class: "last", cx: x(last[0]), cy: y(last[1]), r: 2.5 }));
  const learning = base && !base.established ? ` (learning, ${base.windows} windows)` : "";
  const facts = [last ? `p50 ${ms(last[1])}` : "no requests",
    base ? `baseline ${ms(base.level_ms)}${learning}` : "no baseline yet",
    threshold !== null && `threshold ${ms(threshold)}`];
  return el("figure", { class: classes("chart", (hot || over.length > 0) && "hot"), "data-key": e.key },
    el("figcaption", {}, el("strong", { text: e.key }),
      el("span", { class: "muted", text: facts.filter(Boolean).join(" · ") })),
    plot);
}

// ---- Dependencies ------------------------------------------------------------

function renderGraph({ services, edges }, roots) {
  if (!edges.length) {
    $("graph").replaceChildren(empty("No calls between services seen yet."));
    return;
  }
  // A service's layer is its longest chain of callers; in a cycle, chains stop
  // growing once they are as long as there are services.
  const depth = Object.fromEntries(services.map((s) => [s, 0]));
  for (let round = 0, changed = true; changed && round < services.length; round++) {
    changed = false;
    for (const { caller, callee } of edges) {
      if (caller !== callee && depth[callee] <= depth[caller] && depth[caller] + 1 < services.length) {
        depth[callee] = depth[caller] + 1;
        changed = true;
      }
    }
  }
  const layers = [];
  for (const s of services) (layers[depth[s]] ??= []).push(s);
  const columns = layers.filter(Boolean);
  const [NW, NH, W] = [104, 30, 540];
  const H = Math.max(150, 66 * Math.max(...columns.map((c) => c.length)) + 20);
  const pos = {};
  columns.forEach((column, c) => column.forEach((s, k) => {
    const x = 4 + (c * (W - NW - 8)) / Math.max(1, columns.length - 1);
    pos[s] = { x, y: (H * (k + 0.5)) / column.length - NH / 2 };
  }));
  const marker = (id) => svg("marker", { id, viewBox: "0 0 8 8", refX: 8, refY: 4, markerWidth: 7, markerHeight: 7,
    orient: "auto" }, svg("path", { d: "M0,0L8,4L0,8z" }));
  const edge = (e) => {
    const [a, b] = [pos[e.caller], pos[e.callee]];
    const [x1, y1, x2, y2] = [a.x + NW, a.y + NH / 2, b.x, b.y + NH / 2];
    const mid = (x1 + x2) / 2, failing = e.errors > 0;
    // Edges are learned for good; one not used for a while is drawn faded.
    const stale = Date.now() - Date.parse(e.last_seen) > LATENCY_MINUTES * 60_000;
    const label = [`${e.calls.toLocaleString("en-US")} calls`, `${pct(e.error_rate)} errors`];
    // Labelled where the edge runs flat into its callee, on the side the curve does not come from.
    const labelY = (k) => (y1 < y2 - 1 ? y2 + 14 : y2 - 16) + 11 * k;
    return svg("g", {
      class: classes("edge", failing && "failing", stale && "stale"), "data-edge": `${e.caller}→${e.callee}`,
    },
      svg("title", { text: `${e.caller} → ${e.callee}: ${label.join(", ")}` }),
      svg("path", { d: `M${x1},${y1}C${mid},${y1} ${mid},${y2} ${x2 - 2},${y2}`,
        "marker-end": `url(#${failing ? "arrow-bad" : "arrow"})` }),
      label.map((text, k) => svg("text", { x: x2 - 10, y: labelY(k), "text-anchor": "end", text })));
  };
  const node = (s) => svg("g", { class: classes("node", roots.has(s) && "root"), "data-service": s },
    svg("rect", { x: pos[s].x, y: pos[s].y, width: NW, height: NH, rx: 6 }),
    svg("text", { x: pos[s].x + NW / 2, y: pos[s].y + NH / 2 + 4, "text-anchor": "middle", text: s }));
  $("graph").replaceChildren(svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "graph", role: "img",
    "aria-label": "Service dependency graph" },
  svg("defs", {}, marker("arrow"), marker("arrow-bad")), edges.map(edge), services.map(node)));
}

// ---- Trace -------------------------------------------------------------------

let openTrace = null;

async function showTrace(id) {
  openTrace = id;
  $("trace-id").value = id;
  const view = $("trace-view");
  if (!TRACE_ID.test(id)) {
    view.replaceChildren(el("p", { class: "notice", text: "Not a trace id: letters, digits, - and _, up to 64." }));
    return;
  }
  view.replaceChildren(el("p", { class: "muted", text: `Loading trace ${id}…` }));
  try {
    const trace = await getJson(`traces/${encodeURIComponent(id)}`);
    if (openTrace === id) view.replaceChildren(traceView(trace));
  } catch (err) {
    if (openTrace === id) view.replaceChildren(el("p", { class: "notice", text: err.message }));
  }
}

function traceView(t) {
  const rows = [];
  const walk = (node, depth) => {
    rows.push([node, depth]);
    node.children.forEach((child) => walk(child, depth + 1));
  };
  t.roots.forEach((root) => walk(root, 0));
  const t0 = Math.min(...rows.map(([n]) => Date.parse(n.start)));
  const total = Math.max(1, ...rows.map(([n]) => Date.parse(n.start) + n.latency_ms - t0));
  const origins = t.origins.map((o) => `${nameOf(o)} (${words(o.blame)})`).join(", ");
  return el("div", { class: "trace", "data-trace": t.trace_id },
    el("p", { class: "trace-summary" }, el("code", { text: t.trace_id }),
      ` · ${t.spans} spans · ${t.services.join(", ")} · ${ms(t.duration_ms)} · `,
      origins ? el("strong", { class: "origin-note", text: `trouble starts at ${origins}` }) : "no trouble found"),
    el("ol", { class: "tree" }, rows.map(([n, depth]) => spanRow(n, depth, t0, total))));
}

function spanRow(n, depth, t0, total) {
  const callee = n.peer_service ?? "?";
  const what = n.kind === "server" ? `${n.method} ${n.endpoint}`
    : n.method === "SQL" ? `→ ${callee} ${n.endpoint}` : `→ ${callee} ${n.method} ${n.endpoint}`;
  const status = n.status_code ?? n.error_kind ?? (n.method === "SQL" ? "ok" : "no answer");
  // The badge leads, so a long label's ellipsis never hides it.
  const label = el("div", { class: "span-label" },
    n.origin && el("span", { class: "origin-badge", title: words(n.origin), text: "origin" }),
    el("strong", { text: n.service }), ` ${what}`);
  label.style.paddingLeft = `${depth * 16}px`;
  const bar = el("span", { class: "bar" });
  const left = Math.min(1, Math.max(0, (Date.parse(n.start) - t0) / total));
  bar.style.left = `${left * 100}%`;
  bar.style.width = `${Math.max(0.4, Math.min(1 - left, n.latency_ms / total) * 100)}%`;
  return el("li", { class: classes("span", n.kind, n.failed && "failed", n.origin && "origin"),
    "data-span": n.span_id, "data-service": n.service },
  label,
  el("span", { class: "span-status", text: String(status) }),
  el("span", { class: "track" }, bar),
  el("span", { class: "span-ms", text: ms(n.latency_ms) }),
  n.error && el("div", { class: "span-error", text: `${n.error_kind ?? "error"}: ${n.error}` }));
}

function traceFromHash() {
  const match = /^#trace=(.+)$/.exec(location.hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1]; // malformed escapes: showTrace says it is not a trace id
  }
}

// ---- Refresh -----------------------------------------------------------------

const SOURCES = {
  health: "health",
  incidents: "incidents?limit=100",
  dependencies: "dependencies",
  latency: `latency?minutes=${LATENCY_MINUTES}`,
};
let busy = false;

async function refresh() {
  if (busy) return; // a slow analyzer must not pile requests up
  busy = true;
  try {
    const names = Object.keys(SOURCES);
    const results = await Promise.allSettled(names.map((n) => getJson(SOURCES[n])));
    const got = {}, failed = new Map();
    results.forEach((r, k) => {
      if (r.status === "fulfilled") got[names[k]] = r.value;
      else failed.set(names[k], r.reason.message);
    });
    const active = (got.incidents ?? []).filter((i) => i.status !== "resolved");
    if (got.health) renderHealth(got.health);
    if (got.incidents) renderIncidents(active);
    else $("incident-list").replaceChildren(el("p", { class: "notice", text: `Unavailable: ${failed.get("incidents")}` }));
    if (got.dependencies) renderGraph(got.dependencies, new Set(active.map((i) => i.root_cause.service)));
    if (got.latency) renderCharts(got.latency, new Set(active.flatMap((i) => i.affected_endpoints)));
    // The incidents section explains its own failure; the banner names the rest once each.
    const details = [...new Set([...failed].filter(([n]) => n !== "incidents").map(([, m]) => m))].join("; ");
    const banner = $("error-banner");
    banner.hidden = failed.size === 0;
    banner.textContent = failed.size === 0 ? ""
      : `Could not load ${[...failed.keys()].join(", ")}${details ? `: ${details}` : ""}. Showing what was last received.`;
    $("updated").textContent = `updated ${clock(Date.now())} · every ${REFRESH_MS / 1000} s`;
  } finally {
    busy = false;
  }
}

$("trace-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("trace-id").value.trim();
  if (!id) return;
  if (traceFromHash() === id) showTrace(id);
  else location.hash = `trace=${encodeURIComponent(id)}`;
});
window.addEventListener("hashchange", () => {
  const id = traceFromHash();
  if (!id) return;
  showTrace(id);
  $("trace").scrollIntoView({ behavior: "smooth", block: "start" });
});

refresh();
setInterval(refresh, REFRESH_MS);
if (traceFromHash()) showTrace(traceFromHash());
