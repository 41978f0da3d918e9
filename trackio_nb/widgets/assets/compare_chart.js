// trackio_nb CompareChart: one line per run, one facet per metric, on one Vega view.
// Self-contained anywidget module (docs/widgets.md). New points are appended with
// view.change + runAsync, never by re-embedding; finalize() on cleanup.
// Vega: globalThis.vegaEmbed from the page, else the shared bundle model the `vega` trait
// references (evaluated once per page). Smoothing (EMA, raw line kept faint), the x axis
// (step / wall time / relative time) and the highlighted run all change in the page alone.

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

async function ensureVega(model) {
  if (globalThis.vegaEmbed) return globalThis.vegaEmbed;
  if (!globalThis.__tnbVegaLoad) {
    globalThis.__tnbVegaLoad = (async () => {
      const ref = model.get("vega");
      if (typeof ref !== "string" || !ref.startsWith("IPY_MODEL_") || !model.widget_manager) {
        throw new Error("Vega is not loaded: the page defines no vegaEmbed and the chart references no bundle");
      }
      const bundle = await model.widget_manager.get_model(ref.slice("IPY_MODEL_".length));
      const gz = bundle && bundle.get("gz");
      if (!gz || !gz.byteLength) throw new Error("the Vega bundle model holds no bundle");
      const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
      const src = await new Response(stream).text();
      const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
      try { await import(url); } finally { URL.revokeObjectURL(url); }
    })();
  }
  try {
    await globalThis.__tnbVegaLoad;
  } catch (err) {
    globalThis.__tnbVegaLoad = null;
    throw err;
  }
  if (!globalThis.vegaEmbed) throw new Error("the Vega bundle did not define vegaEmbed");
  return globalThis.vegaEmbed;
}

// The page-wide highlight channel: a run clicked in any table or chart of a project.
function highlightBus() {
  if (!globalThis.__tnbHighlight) {
    const target = new EventTarget();
    const current = new Map();
    globalThis.__tnbHighlight = {
      get: (project) => current.get(project) ?? null,
      set(project, runId) {
        current.set(project, runId);
        target.dispatchEvent(new CustomEvent("highlight", { detail: { project, runId } }));
      },
      on: (f) => target.addEventListener("highlight", f),
      off: (f) => target.removeEventListener("highlight", f),
    };
  }
  return globalThis.__tnbHighlight;
}

// A float64 column: binary (DataView / ArrayBuffer / typed array), base64 text, or a JSON array.
function floats(value) {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value;
  let view;
  if (typeof value === "string") {
    const bin = atob(value);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    view = new DataView(bytes.buffer);
  } else if (value instanceof DataView) {
    view = value;
  } else if (ArrayBuffer.isView(value)) {
    view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  } else if (value instanceof ArrayBuffer) {
    view = new DataView(value);
  } else {
    throw new Error("unreadable series column");
  }
  const out = new Array(view.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

function withOptions(spec, { logScale, highlight }) {
  const copy = JSON.parse(JSON.stringify(spec));
  const unit = copy.spec || copy; // a facet spec wraps the unit spec
  for (const layer of unit.layer || [unit]) {
    const y = layer.encoding && layer.encoding.y;
    if (y) y.scale = { ...(y.scale || {}), type: logScale ? "log" : "linear" };
  }
  copy.params = (copy.params || []).map((p) => (p.name === "highlight" ? { ...p, value: highlight } : p));
  return copy;
}

const X_LABELS = { step: "step", time: "wall time", relative: "relative time" };

function render({ model, el }) {
  const root = node("div", "tnb-root tnb-compare-chart");
  const bar = node("div", "tnb-toolbar");
  const title = node("span", "tnb-title");
  const xPick = node("select", "tnb-x-axis");
  for (const [value, label] of Object.entries(X_LABELS)) {
    const o = node("option", null, label);
    o.value = value;
    xPick.appendChild(o);
  }
  const smoothLabel = node("label", "tnb-smoothing-label");
  const smooth = node("input", "tnb-smoothing");
  smooth.type = "range";
  smooth.min = "0";
  smooth.max = "0.99";
  smooth.step = "0.01";
  const smoothValue = node("span", "tnb-smoothing-value");
  smoothLabel.append(document.createTextNode("smoothing "), smooth, smoothValue);
  const label = node("label");
  const logBox = node("input", "tnb-log-toggle");
  logBox.type = "checkbox";
  label.append(logBox, document.createTextNode(" log scale"));
  bar.append(title, xPick, smoothLabel, label);
  const error = node("div", "tnb-error");
  const plot = node("div", "tnb-plot");
  root.append(bar, error, plot);
  el.appendChild(root);

  const bus = highlightBus();
  const project = model.get("project");
  let store = new Map(); // run_id \0 metric -> {run_id, run, metric, steps[], ts[], ys[], index: Map(step -> i)}
  let rows = new Map(); // same key -> rows drawn for that series
  const starts = new Map(); // run_id -> first timestamp (relative time)
  let xMode = model.get("x") || "step";
  let alpha = Number(model.get("smoothing")) || 0;
  let applied = -1;
  let result = null;
  let view = null;
  let embedding = null;
  let dirty = new Set(); // series keys to redraw
  let rebuildAll = false;
  let flushing = false;
  let frame = 0;
  let closed = false;
  let canHighlight = false; // the spec has the `highlight` param (a report's single-layer spec does not)
  root.tnbChart = { view: () => view, store: () => store, rows: () => rows };

  function count() {
    let n = 0;
    for (const s of store.values()) n += s.steps.length;
    return n;
  }

  function describe() {
    const metrics = new Set();
    const runs = new Set();
    for (const s of store.values()) {
      runs.add(s.run_id);
      metrics.add(s.metric);
    }
    title.textContent = `${project}: ${metrics.size} metric${metrics.size === 1 ? "" : "s"}, ${runs.size} run${runs.size === 1 ? "" : "s"}, ${count()} points`;
    error.textContent = model.get("error") || "";
  }

  function addSeries(meta, steps, ts, ys) {
    const key = `${meta.run_id}\u0000${meta.metric}`;
    let s = store.get(key);
    if (!s) store.set(key, (s = { run_id: meta.run_id, run: meta.run, metric: meta.metric, steps: [], ts: [], ys: [], index: new Map() }));
    s.run = meta.run;
    for (let i = 0; i < steps.length; i++) {
      const at = s.index.get(steps[i]);
      const t = ts ? ts[i] : null;
      if (at === undefined) {
        s.index.set(steps[i], s.steps.length);
        s.steps.push(steps[i]);
        s.ts.push(t);
        s.ys.push(ys[i]);
      } else {
        s.ts[at] = t;
        s.ys[at] = ys[i];
      }
      if (t !== null && Number.isFinite(t)) {
        const first = starts.get(s.run_id);
        if (first === undefined || t < first) {
          if (first !== undefined) rebuildAll = true; // every relative x of this run moves
          starts.set(s.run_id, t);
        }
      }
    }
    dirty.add(key);
  }

  function xOf(s, i) {
    if (xMode === "step") return s.steps[i];
    const t = s.ts[i];
    if (t === null || t === undefined) return null;
    return xMode === "time" ? t * 1000 : t - starts.get(s.run_id);
  }

  // Rows of one series: raw y and its EMA (debiased, as TensorBoard draws it); NaN/inf not drawn.
  function seriesRows(s) {
    const order = s.steps.map((_, i) => i).sort((a, b) => s.steps[a] - s.steps[b]);
    const out = [];
    let ema = 0;
    let weight = 0;
    for (const i of order) {
      const y = s.ys[i];
      const finite = typeof y === "number" && Number.isFinite(y);
      let ys = null;
      if (finite) {
        ema = alpha * ema + (1 - alpha) * y;
        weight = alpha * weight + (1 - alpha);
        ys = ema / weight;
      }
      out.push({ run_id: s.run_id, run: s.run, metric: s.metric, step: s.steps[i], x: xOf(s, i), y: finite ? y : null, ys });
    }
    return out;
  }

  function loadFull() {
    store = new Map();
    starts.clear();
    for (const s of model.get("series") || []) {
      addSeries(s, floats(s.step !== undefined ? s.step : s.x), floats(s.t), floats(s.y));
    }
    applied = model.get("seq");
    rebuildAll = true;
    describe();
    schedule();
  }

  function allRows() {
    rows = new Map();
    const list = [];
    for (const [key, s] of store) {
      const r = seriesRows(s);
      rows.set(key, r);
      for (const row of r) list.push(row);
    }
    return list;
  }

  async function embed() {
    const vegaEmbed = await ensureVega(model);
    if (closed) return;
    if (result) result.finalize();
    view = null;
    const specs = model.get("spec") || {};
    const chosen = specs[xMode] || specs.step || specs; // a single spec (reports) has no x variants
    const spec = withOptions(chosen, { logScale: !!model.get("log_scale"), highlight: bus.get(project) });
    canHighlight = (spec.params || []).some((p) => p.name === "highlight");
    xPick.hidden = !specs.time; // a single spec (reports) draws by step only
    smoothLabel.hidden = !JSON.stringify(spec).includes('"ys"');
    const r = await vegaEmbed(plot, spec, { actions: false, renderer: "svg", tooltip: true });
    if (closed) { r.finalize(); return; }
    result = r;
    dirty.clear();
    rebuildAll = false;
    r.view.insert("points", allRows());
    r.view.addEventListener("click", (_event, item) => pick(item));
    await r.view.runAsync();
    view = r.view;
    root.dataset.rendered = "true";
    root.dataset.x = xMode;
  }

  function pick(item) {
    const datum = item && item.datum;
    if (!datum) return;
    let runId = datum.run_id;
    if (runId === undefined && datum.value !== undefined) { // a legend entry: its label
      for (const s of store.values()) if (s.run === datum.value) runId = s.run_id;
    }
    if (runId === undefined) return;
    bus.set(project, bus.get(project) === runId ? null : runId);
  }

  function startEmbed() {
    embedding = (embedding || Promise.resolve()).then(embed).catch((err) => {
      error.textContent = `chart error: ${err && err.message ? err.message : err}`;
    });
  }

  async function flush() {
    frame = 0;
    if (!view || flushing || (!dirty.size && !rebuildAll)) return;
    flushing = true;
    try {
      let cs = view.changeset();
      if (rebuildAll) {
        cs = cs.remove(() => true).insert(allRows());
      } else {
        for (const key of dirty) {
          const old = rows.get(key);
          if (old) cs = cs.remove(old);
          const fresh = seriesRows(store.get(key));
          rows.set(key, fresh);
          cs = cs.insert(fresh);
        }
      }
      dirty = new Set();
      rebuildAll = false;
      view.change("points", cs);
      await view.runAsync();
    } finally {
      flushing = false;
    }
    if (dirty.size || rebuildAll) schedule();
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => flush().catch((err) => { error.textContent = `chart error: ${err.message}`; }));
  }

  function onMessage(msg, buffers) {
    if (!msg || msg.type !== "points" || msg.seq <= applied) return;
    applied = msg.seq;
    for (const s of msg.series) {
      const b = s.buffer;
      addSeries(s, floats(buffers[b]), floats(buffers[b + 1]), floats(buffers[b + 2]));
    }
    describe();
    schedule();
  }

  function setSmoothing(value) {
    alpha = Math.min(0.99, Math.max(0, Number(value) || 0));
    smooth.value = String(alpha);
    smoothValue.textContent = alpha.toFixed(2);
    rebuildAll = true;
    schedule();
  }

  function setX(mode) {
    if (!X_LABELS[mode]) return;
    xPick.value = mode;
    if (mode === xMode) return;
    xMode = mode;
    for (const key of store.keys()) dirty.add(key);
    startEmbed(); // the axis type and title change: a new view
  }

  const onHighlight = (ev) => {
    if (ev.detail.project !== project) return;
    if (view && canHighlight) view.signal("highlight", ev.detail.runId).runAsync();
    root.dataset.highlight = ev.detail.runId || "";
  };
  const onLog = () => { logBox.checked = !!model.get("log_scale"); startEmbed(); };
  const onSpec = () => startEmbed();
  const onError = () => describe();
  const onSmoothing = () => setSmoothing(model.get("smoothing"));
  const onX = () => setX(model.get("x"));
  logBox.checked = !!model.get("log_scale");
  logBox.addEventListener("change", () => {
    model.set("log_scale", logBox.checked); // change:log_scale re-embeds
    model.save_changes();
  });
  smooth.addEventListener("input", () => {
    setSmoothing(smooth.value);
    model.set("smoothing", alpha);
    model.save_changes();
  });
  xPick.addEventListener("change", () => {
    model.set("x", xPick.value);
    model.save_changes();
    setX(xPick.value);
  });
  model.on("change:series", loadFull);
  model.on("change:spec", onSpec);
  model.on("change:log_scale", onLog);
  model.on("change:error", onError);
  model.on("change:smoothing", onSmoothing);
  model.on("change:x", onX);
  model.on("msg:custom", onMessage);
  bus.on(onHighlight);
  xPick.value = xMode;
  setSmoothing(alpha);
  loadFull();
  startEmbed();
  return () => {
    closed = true;
    if (frame) cancelAnimationFrame(frame);
    model.off("change:series", loadFull);
    model.off("change:spec", onSpec);
    model.off("change:log_scale", onLog);
    model.off("change:error", onError);
    model.off("change:smoothing", onSmoothing);
    model.off("change:x", onX);
    model.off("msg:custom", onMessage);
    bus.off(onHighlight);
    if (result) result.finalize();
    result = null;
    view = null;
  };
}

export default { render };
