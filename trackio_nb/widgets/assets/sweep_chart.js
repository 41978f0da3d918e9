// trackio_nb SweepChart: one point per ended run, a config value across, its final metric up.
// Self-contained anywidget module. Points arrive in the full state (`points`) or as deltas
// ({type: "points", points, seq}); a run's point is replaced when it arrives again.

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

function render({ model, el }) {
  const root = node("div", "tnb-root tnb-sweep-chart");
  const title = node("div", "tnb-title");
  const error = node("div", "tnb-error");
  const plot = node("div", "tnb-plot");
  root.append(title, error, plot);
  el.appendChild(root);

  const bus = highlightBus();
  const project = model.get("project");
  let points = new Map(); // run_id -> row
  let applied = -1;
  let result = null;
  let view = null;
  let chain = Promise.resolve();
  let closed = false;
  root.tnbChart = { view: () => view, points: () => points };

  function describe() {
    title.textContent = `${project}: ${model.get("metric")} (${model.get("mode")}) by ${model.get("param")}, ${points.size} run${points.size === 1 ? "" : "s"}`;
    error.textContent = model.get("error") || "";
  }

  function rows() {
    return [...points.values()].map((p) => ({ ...p }));
  }

  async function embed() {
    const vegaEmbed = await ensureVega(model);
    if (closed) return;
    if (result) result.finalize();
    view = null;
    const spec = JSON.parse(JSON.stringify(model.get("spec")));
    spec.params = (spec.params || []).map((p) => (p.name === "highlight" ? { ...p, value: bus.get(project) } : p));
    const r = await vegaEmbed(plot, spec, { actions: false, renderer: "svg", tooltip: true });
    if (closed) { r.finalize(); return; }
    result = r;
    r.view.insert("runs", rows());
    r.view.addEventListener("click", (_e, item) => {
      const id = item && item.datum && item.datum.run_id;
      if (id) bus.set(project, bus.get(project) === id ? null : id);
    });
    await r.view.runAsync();
    view = r.view;
    root.dataset.rendered = "true";
  }

  function redraw() {
    chain = chain.then(async () => {
      if (!view) return embed();
      view.change("runs", view.changeset().remove(() => true).insert(rows()));
      await view.runAsync();
    }).catch((err) => { error.textContent = `chart error: ${err && err.message ? err.message : err}`; });
  }

  function loadFull() {
    points = new Map((model.get("points") || []).map((p) => [p.run_id, p]));
    applied = model.get("seq");
    describe();
    redraw();
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "points" || msg.seq <= applied) return;
    applied = msg.seq;
    for (const p of msg.points) points.set(p.run_id, p);
    describe();
    redraw();
  }

  const onSpec = () => { chain = chain.then(embed); };
  const onError = () => describe();
  const onHighlight = (ev) => {
    if (ev.detail.project === project && view) view.signal("highlight", ev.detail.runId).runAsync();
  };
  model.on("change:points", loadFull);
  model.on("change:spec", onSpec);
  model.on("change:error", onError);
  model.on("msg:custom", onMessage);
  bus.on(onHighlight);
  loadFull();
  return () => {
    closed = true;
    model.off("change:points", loadFull);
    model.off("change:spec", onSpec);
    model.off("change:error", onError);
    model.off("msg:custom", onMessage);
    bus.off(onHighlight);
    if (result) result.finalize();
    result = null;
    view = null;
  };
}

export default { render };
