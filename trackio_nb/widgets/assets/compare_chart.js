// trackio_nb CompareChart: one line per run, one facet per metric, on one Vega view.
// Self-contained anywidget module (docs/widgets.md). New points are appended with
// view.insert/changeset + runAsync, never by re-embedding; finalize() on cleanup.
// Vega needs globalThis.vegaEmbed: taken from the page, or evaluated once from `vega_js`.

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

async function ensureVega(model) {
  if (globalThis.vegaEmbed) return globalThis.vegaEmbed;
  if (!globalThis.__tnbVegaLoad) {
    const src = model.get("vega_js");
    if (!src) throw new Error("Vega is not loaded: the page defines no vegaEmbed and vega_js is empty");
    const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    globalThis.__tnbVegaLoad = import(url).finally(() => URL.revokeObjectURL(url));
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

// A series column: a JSON array ("x"/"y") or base64 little-endian float64s ("xb"/"yb").
function column(s, name) {
  const packed = s[name + "b"];
  if (packed === undefined) return s[name];
  const bin = atob(packed);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const out = new Array(bytes.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

function withLogScale(spec, on) {
  const copy = JSON.parse(JSON.stringify(spec));
  const unit = copy.spec || copy; // a facet spec wraps the unit spec
  const y = unit.encoding && unit.encoding.y;
  if (y) y.scale = { ...(y.scale || {}), type: on ? "log" : "linear" };
  return copy;
}

function render({ model, el }) {
  const root = node("div", "tnb-root tnb-compare-chart");
  const bar = node("div", "tnb-toolbar");
  const title = node("span", "tnb-title");
  const label = node("label");
  const logBox = node("input", "tnb-log-toggle");
  logBox.type = "checkbox";
  label.append(logBox, document.createTextNode(" log scale"));
  bar.append(title, label);
  const error = node("div", "tnb-error");
  const plot = node("div", "tnb-plot");
  root.append(bar, error, plot);
  el.appendChild(root);

  let store = new Map(); // run_id \0 metric -> Map(x -> row)
  let applied = -1;
  let result = null;
  let view = null;
  let embedding = null;
  let pendingInsert = [];
  let pendingRemove = [];
  let flushing = false;
  let frame = 0;
  let closed = false;
  root.tnbChart = { view: () => view, store: () => store };

  function count() {
    let n = 0;
    for (const s of store.values()) n += s.size;
    return n;
  }

  function describe() {
    const metrics = new Set();
    const runs = new Set();
    for (const key of store.keys()) {
      const [run, metric] = key.split("\u0000");
      runs.add(run);
      metrics.add(metric);
    }
    title.textContent = `${model.get("project")}: ${metrics.size} metric${metrics.size === 1 ? "" : "s"}, ${runs.size} run${runs.size === 1 ? "" : "s"}, ${count()} points`;
    error.textContent = model.get("error") || "";
  }

  function addSeries(s, track) {
    const key = `${s.run_id}\u0000${s.metric}`;
    let series = store.get(key);
    if (!series) store.set(key, (series = new Map()));
    const xs = column(s, "x"), ys = column(s, "y");
    for (let i = 0; i < xs.length; i++) {
      const y = ys[i];
      const row = { run_id: s.run_id, run: s.run, metric: s.metric, x: xs[i], y: Number.isFinite(y) ? y : null };
      const old = series.get(row.x);
      if (old && track) pendingRemove.push(old);
      series.set(row.x, row);
      if (track) pendingInsert.push(row);
    }
  }

  function allRows() {
    const rows = [];
    for (const s of store.values()) for (const r of s.values()) rows.push(r);
    return rows;
  }

  function loadFull() {
    store = new Map();
    pendingInsert = [];
    pendingRemove = [];
    for (const s of model.get("series") || []) addSeries(s, false);
    applied = model.get("seq");
    describe();
    if (view) {
      view.change("points", view.changeset().remove(() => true).insert(allRows()));
      view.runAsync();
    }
  }

  async function embed() {
    const vegaEmbed = await ensureVega(model);
    if (closed) return;
    if (result) result.finalize();
    view = null;
    const spec = withLogScale(model.get("spec"), model.get("log_scale"));
    const r = await vegaEmbed(plot, spec, { actions: false, renderer: "svg", tooltip: true });
    if (closed) { r.finalize(); return; }
    result = r;
    pendingInsert = [];
    pendingRemove = [];
    r.view.insert("points", allRows());
    await r.view.runAsync();
    view = r.view;
    root.dataset.rendered = "true";
  }

  function startEmbed() {
    embedding = (embedding || Promise.resolve()).then(embed).catch((err) => {
      error.textContent = `chart error: ${err && err.message ? err.message : err}`;
    });
  }

  async function flush() {
    frame = 0;
    if (!view || flushing || (!pendingInsert.length && !pendingRemove.length)) return;
    flushing = true;
    const ins = pendingInsert, rem = pendingRemove;
    pendingInsert = [];
    pendingRemove = [];
    try {
      const cs = view.changeset().insert(ins);
      if (rem.length) cs.remove(rem);
      view.change("points", cs);
      await view.runAsync();
    } finally {
      flushing = false;
    }
    if (pendingInsert.length || pendingRemove.length) schedule();
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => flush().catch((err) => { error.textContent = `chart error: ${err.message}`; }));
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "points" || msg.seq <= applied) return;
    applied = msg.seq;
    for (const s of msg.series) addSeries(s, view !== null);
    describe();
    schedule();
  }

  const onLog = () => {
    logBox.checked = !!model.get("log_scale");
    startEmbed();
  };
  const onSpec = () => startEmbed();
  const onError = () => describe();
  logBox.checked = !!model.get("log_scale");
  logBox.addEventListener("change", () => {
    model.set("log_scale", logBox.checked); // change:log_scale re-embeds
    model.save_changes();
  });
  model.on("change:series", loadFull);
  model.on("change:spec", onSpec);
  model.on("change:log_scale", onLog);
  model.on("change:error", onError);
  model.on("msg:custom", onMessage);
  loadFull();
  startEmbed();
  return () => {
    closed = true;
    if (frame) cancelAnimationFrame(frame);
    model.off("change:series", loadFull);
    model.off("change:spec", onSpec);
    model.off("change:log_scale", onLog);
    model.off("change:error", onError);
    model.off("msg:custom", onMessage);
    if (result) result.finalize();
    result = null;
    view = null;
  };
}

export default { render };
