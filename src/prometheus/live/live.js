// routemeter live stats: polls the page's JSON and keeps a table of routes with sparklines.
// Every text from the server is put into the page with textContent, never parsed as HTML.
"use strict";
(function () {
  const jsonUrl = document.body.dataset.json;
  const tbody = document.querySelector("#routes tbody");
  const statusEl = document.getElementById("status");
  const emptyEl = document.getElementById("empty");
  const filterEl = document.getElementById("filter");
  const limitEl = document.getElementById("limit");
  const shownEl = document.getElementById("shown");
  const SERIES = ["rate", "error_pct", "p50", "p95", "p99", "in_flight"];
  const LABELS = {
    rate: "Requests per second",
    error_pct: "Error percentage",
    p50: "Median duration",
    p95: "95th percentile duration",
    p99: "99th percentile duration",
    in_flight: "Requests in flight",
  };
  const state = {
    instance: null,
    seq: 0,
    capacity: 150,
    intervalMs: 2000,
    rows: new Map(),
    sort: { key: "rate", dir: -1 },
    failures: 0,
    updates: 0,
    timer: null,
    polling: false,
  };

  function dash(v) { return v === null || v === undefined || !isFinite(v); }
  function fmtRate(v) {
    if (dash(v)) return "–";
    if (v === 0) return "0";
    return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v).toString();
  }
  function fmtPct(v) {
    if (dash(v)) return "–";
    return v === 0 ? "0%" : (v < 10 ? v.toFixed(1) : Math.round(v).toString()) + "%";
  }
  function fmtSecs(v) {
    if (dash(v)) return "–";
    if (v < 0.001) return (v * 1e6).toPrecision(3) + " µs";
    if (v < 1) return (v * 1000).toPrecision(3) + " ms";
    return v.toPrecision(3) + " s";
  }
  function fmtCount(v) {
    if (dash(v)) return "–";
    return Number.isInteger(v) ? v.toString() : v.toFixed(1);
  }
  const FORMAT = { rate: fmtRate, error_pct: fmtPct, p50: fmtSecs, p95: fmtSecs, p99: fmtSecs, in_flight: fmtCount };

  function cell(tr, className) {
    const td = document.createElement("td");
    td.className = className;
    tr.appendChild(td);
    return td;
  }

  // A row's labels (`[[name, value], ...]`) as text: `tenant=acme, plan=gold`.
  function labelText(r) {
    return (r.labels || []).map(function (p) { return p[0] + "=" + p[1]; }).join(", ");
  }

  function makeRow(r) {
    const tr = document.createElement("tr");
    tr.dataset.route = r.route;
    tr.dataset.method = r.method;
    const text = labelText(r);
    tr.dataset.labels = text;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = r.route;
    th.title = text ? r.route + " " + text : r.route;
    if (text) {
      // The values of the labels the page keeps rows apart by (as text, never markup).
      const labels = document.createElement("span");
      labels.className = "labels";
      labels.textContent = text;
      th.appendChild(labels);
    }
    tr.appendChild(th);
    cell(tr, "method").textContent = r.method;
    const row = { tr: tr, data: r, next: null, hist: {}, cells: {}, spark: {} };
    for (const name of SERIES) {
      const td = cell(tr, "num " + name);
      const v = document.createElement("span");
      v.className = "v";
      td.appendChild(v);
      const canvas = document.createElement("canvas");
      canvas.className = "spark";
      canvas.setAttribute("role", "img");
      td.appendChild(canvas);
      if (name === "error_pct") {
        const b = document.createElement("span");
        b.className = "breakdown";
        td.appendChild(b);
        row.breakdown = b;
      }
      row.cells[name] = td;
      row.values = row.values || {};
      row.values[name] = v;
      row.spark[name] = canvas;
      row.hist[name] = [];
    }
    row.total = cell(tr, "num total");
    return row;
  }

  // Appends the samples of `r` to the row's history, or replaces it when they do not follow on.
  function merge(row, r) {
    if (!r.history) {
      for (const name of SERIES) row.hist[name] = [];
      row.next = null;
      return;
    }
    const n = r.history.rate.length;
    // Samples numbered up to row.next - 1 are here already; older ones in `r` are skipped.
    const follows = row.next !== null && r.from <= row.next;
    const skip = follows ? Math.min(n, row.next - r.from) : 0;
    for (const name of SERIES) {
      const incoming = (r.history[name] || []).slice(skip);
      const h = follows ? row.hist[name].concat(incoming) : incoming;
      row.hist[name] = h.length > state.capacity ? h.slice(h.length - state.capacity) : h;
    }
    row.next = follows ? Math.max(row.next, r.from + n) : r.from + n;
    row.tr.dataset.samples = row.hist.rate.length.toString();
  }

  function update(r) {
    // Unambiguous whatever the values hold.
    const key = JSON.stringify([r.method, r.route, r.labels || []]);
    let row = state.rows.get(key);
    if (!row) {
      row = makeRow(r);
      state.rows.set(key, row);
    }
    merge(row, r);
    row.data = r;
    for (const name of SERIES) {
      const v = name === "in_flight" ? r.in_flight : r[name];
      row.values[name].textContent = FORMAT[name](v);
    }
    row.total.textContent = r.total.toString();
    row.total.dataset.total = r.total.toString();
    row.cells.error_pct.classList.toggle("bad", r.error_pct > 0);
    const parts = (r.errors || []).map(function (e) { return e[0] + " " + fmtPct(e[1]); });
    row.breakdown.textContent = parts.join(" · ");
    row.cells.error_pct.title = (r.error_totals || [])
      .map(function (e) { return e[0] + ": " + e[1] + " since start"; })
      .join("\n");
  }

  function draw(canvas, values, name) {
    const dpr = window.devicePixelRatio || 1;
    const w = 72, h = 18;
    if (canvas.width !== w * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const color = getComputedStyle(canvas).color;
    let max = 0, min = Infinity, last = null;
    for (const v of values) {
      if (!dash(v)) { if (v > max) max = v; if (v < min) min = v; last = v; }
    }
    const span = Math.round((state.capacity * state.intervalMs) / 60000);
    canvas.setAttribute("aria-label", LABELS[name] + ", last " + span + " minutes: " +
      (last === null ? "no data" : "min " + FORMAT[name](min) + ", max " + FORMAT[name](max) + ", now " + FORMAT[name](last)));
    // A faint baseline spans the whole period; the line fills it from the right as samples come.
    ctx.globalAlpha = 0.3;
    ctx.fillStyle = color;
    ctx.fillRect(0, h - 1, w, 1);
    ctx.globalAlpha = 1;
    if (last === null) return;
    const top = max > 0 ? max : 1;
    const step = w / Math.max(1, state.capacity - 1);
    const x0 = w - step * (values.length - 1);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.25;
    ctx.beginPath();
    let pen = false;
    values.forEach(function (v, i) {
      if (dash(v)) { pen = false; return; }
      const x = x0 + i * step, y = h - 1.5 - (v / top) * (h - 3);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }

  function sortValue(row, key) {
    if (key === "route" || key === "method") return row.data[key];
    const v = row.data[key];
    return dash(v) ? -Infinity : v;
  }

  function render() {
    const filter = filterEl.value.trim().toLowerCase();
    const limit = parseInt(limitEl.value, 10) || Infinity;
    const { key, dir } = state.sort;
    const rows = Array.from(state.rows.values());
    rows.sort(function (a, b) {
      const x = sortValue(a, key), y = sortValue(b, key);
      if (x < y) return -dir;
      if (x > y) return dir;
      const r = a.data.route < b.data.route ? -1 : a.data.route > b.data.route ? 1 : 0;
      if (r !== 0) return r;
      const m = a.data.method < b.data.method ? -1 : a.data.method > b.data.method ? 1 : 0;
      if (m !== 0) return m;
      const la = labelText(a.data), lb = labelText(b.data);
      return la < lb ? -1 : la > lb ? 1 : 0;
    });
    let shown = 0, matching = 0;
    const hidden = document.hidden;
    for (const row of rows) {
      const text = row.data.method + " " + row.data.route + " " + labelText(row.data);
      const match = !filter || text.toLowerCase().includes(filter);
      if (match) matching += 1;
      const visible = match && shown < limit;
      row.tr.hidden = !visible;
      tbody.appendChild(row.tr);
      if (visible) {
        shown += 1;
        if (!hidden) for (const name of SERIES) draw(row.spark[name], row.hist[name], name);
      }
    }
    emptyEl.hidden = state.rows.size > 0;
    shownEl.textContent = state.rows.size ? "showing " + shown + " of " + matching +
      (matching !== state.rows.size ? " matching (" + state.rows.size + " in all)" : "") : "";
  }

  // The status line changes with every sample; only changes of the connection are announced
  // to screen readers (through the #conn live region).
  const connEl = document.getElementById("conn");
  // All routes together: the sum of the rates, the errors among them, the requests in flight.
  const summaryEl = document.getElementById("summary");
  function summarize(routes) {
    let rate = 0, failing = 0, inFlight = 0, known = false;
    for (const r of routes) {
      if (!dash(r.rate)) {
        known = true;
        rate += r.rate;
        if (!dash(r.error_pct)) failing += (r.rate * r.error_pct) / 100;
      }
      if (!dash(r.in_flight)) inFlight += r.in_flight;
    }
    const pct = rate > 0 ? (failing * 100) / rate : null;
    while (summaryEl.firstChild) summaryEl.removeChild(summaryEl.firstChild);
    const parts = [
      [fmtRate(known ? rate : null) + " req/s", false],
      [fmtPct(pct) + " errors", pct > 0],
      [fmtCount(inFlight) + " in flight", false],
    ];
    parts.forEach(function (p, i) {
      if (i > 0) summaryEl.appendChild(document.createTextNode(" · "));
      const span = document.createElement("span");
      span.textContent = p[0];
      if (p[1]) span.className = "bad";
      summaryEl.appendChild(span);
    });
  }

  function setStatus(text, down) {
    statusEl.textContent = text;
    const wasDown = statusEl.classList.contains("down");
    statusEl.classList.toggle("down", !!down);
    if (down && !wasDown) connEl.textContent = "Live stats disconnected; retrying.";
    if (!down && wasDown) connEl.textContent = "Live stats reconnected.";
  }

  function schedule(ms) {
    clearTimeout(state.timer);
    state.timer = setTimeout(poll, ms);
  }

  function apply(data) {
    if (state.instance !== null && data.instance !== state.instance) {
      // The server restarted: its samples are numbered again from 1.
      state.rows.clear();
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      state.instance = data.instance;
      state.seq = 0;
      return false;
    }
    state.instance = data.instance;
    state.capacity = data.capacity;
    state.intervalMs = data.interval_ms;
    state.seq = data.seq;
    for (const r of data.routes) update(r);
    summarize(data.routes);
    document.getElementById("window").textContent = Math.round(data.window_ms / 1000) + " s";
    document.getElementById("span").textContent =
      Math.round((data.capacity * data.interval_ms) / 60000) + " minutes";
    state.updates += 1;
    document.body.dataset.updates = state.updates.toString();
    document.body.dataset.seq = data.seq.toString();
    render();
    const when = data.time_ms ? new Date(data.time_ms).toLocaleTimeString() : "–";
    const untracked = data.untracked ? " · " + data.untracked + " routes without history (limit reached)" : "";
    setStatus("Live · sample " + data.seq + " at " + when + untracked, false);
    return true;
  }

  async function poll() {
    if (document.hidden) return; // resumed by visibilitychange
    if (state.polling) return; // the poll under way schedules the next one
    state.polling = true;
    try {
      const url = jsonUrl + (state.seq ? "?since=" + state.seq : "");
      const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      state.failures = 0;
      if (!apply(data)) { schedule(0); return; }
      schedule(state.intervalMs);
    } catch (e) {
      state.failures += 1;
      const wait = Math.min(30000, state.intervalMs * Math.pow(2, Math.min(state.failures, 5)));
      setStatus("Disconnected (" + (e && e.message ? e.message : "error") + "); retrying in " +
        Math.round(wait / 1000) + " s", true);
      schedule(wait);
    } finally {
      state.polling = false;
    }
  }

  for (const th of document.querySelectorAll("#routes thead th")) {
    th.querySelector("button").addEventListener("click", function () {
      const key = th.dataset.key;
      const numeric = key !== "route" && key !== "method";
      state.sort = state.sort.key === key ? { key: key, dir: -state.sort.dir } : { key: key, dir: numeric ? -1 : 1 };
      for (const other of document.querySelectorAll("#routes thead th")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
      render();
    });
  }
  filterEl.addEventListener("input", render);
  limitEl.addEventListener("change", render);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) schedule(0);
  });
  poll();
})();
