// trackio_nb RunTable: one row per run. Self-contained anywidget module (docs/widgets.md).
// All run text goes through textContent: never innerHTML with data.

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function formatNumber(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v; // "NaN", "Infinity", "-Infinity" or a text value
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4) : v.toPrecision(5).replace(/\.?0+$/, "");
}

function formatTime(epoch) {
  if (epoch === null || epoch === undefined) return "";
  return new Date(epoch * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function formatDuration(s) {
  if (s === null || s === undefined) return "";
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

const FIXED = [
  ["name", "run"], ["status", "status"], ["group", "group"], ["last_step", "step"],
  ["created_at", "started"], ["duration_s", "duration"],
];

function sortValue(row, key) {
  if (key.startsWith("m:")) {
    const v = row.metrics ? row.metrics[key.slice(2)] : null;
    return typeof v === "number" ? v : v === null || v === undefined ? null : Number(v);
  }
  if (key.startsWith("c:")) {
    const v = row.config ? row.config[key.slice(2)] : undefined;
    return v === undefined ? null : v;
  }
  return row[key];
}

// The page-wide highlight channel shared with the charts (same object as compare_chart.js makes).
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
  const root = node("div", "tnb-root tnb-run-table");
  const title = node("div", "tnb-title");
  const error = node("div", "tnb-error");
  const table = node("table", "tnb-table");
  const chooser = node("details", "tnb-columns");
  chooser.appendChild(node("summary", null, "columns"));
  const choices = node("div", "tnb-column-choices");
  chooser.appendChild(choices);
  const note = node("div", "tnb-note tnb-stop-note");
  root.append(title, error, chooser, table, note);
  el.appendChild(root);

  const bus = highlightBus();
  const project = model.get("project");
  let rows = new Map(); // id -> row, in arrival order
  let columns = [];
  let configColumns = [];
  let applied = -1;
  let sortKey = null;
  let sortDesc = false;
  let frame = 0;

  function readSort() {
    const s = model.get("sort") || "";
    sortDesc = s.startsWith("-");
    sortKey = s ? s.replace(/^-/, "") : null;
  }

  function hidden() {
    return new Set(model.get("hidden") || []);
  }

  function saveView(changes) {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    model.save_changes(); // remembered in the widget state (and saved with the notebook)
  }

  function loadFull() {
    rows = new Map((model.get("rows") || []).map((r) => [r.id, r]));
    columns = model.get("columns") || [];
    configColumns = model.get("config_columns") || [];
    applied = model.get("seq");
    schedule();
  }

  function drawChoices() {
    const off = hidden();
    choices.replaceChildren();
    for (const key of [...configColumns.map((c) => "c:" + c), ...columns.map((c) => "m:" + c)]) {
      const label = node("label");
      const box = node("input");
      box.type = "checkbox";
      box.checked = !off.has(key);
      box.dataset.key = key;
      box.addEventListener("change", () => {
        const now = hidden();
        if (box.checked) now.delete(key); else now.add(key);
        saveView({ hidden: [...now] });
        draw();
      });
      label.append(box, document.createTextNode(" " + key.slice(2)));
      choices.appendChild(label);
    }
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }

  // One button per run, kept across redraws: a click that straddles a redraw still lands.
  const buttons = new Map();
  const clicked = new Set();
  function stopButton(r) {
    let b = buttons.get(r.id);
    if (!b) {
      b = node("button", "tnb-stop");
      b.addEventListener("click", (ev) => {
        ev.stopPropagation(); // a stop is not a highlight
        clicked.add(r.id);
        b.disabled = true;
        model.send({ type: "stop", run_id: r.id });
      });
      buttons.set(r.id, b);
    }
    b.title = model.get("_stop_mid_cell")
      ? "Write a stop request: the run's should_stop() turns True, even while a cell is running"
      : "Write a stop request: the run's should_stop() turns True (acts when this kernel is free)";
    const asked = !!r.stop_requested || clicked.has(r.id);
    b.textContent = asked ? "stop requested" : "stop";
    b.disabled = asked;
    return b;
  }

  function headerCell(key, label) {
    const th = node("th", null, label + (sortKey === key ? (sortDesc ? " ▼" : " ▲") : ""));
    th.dataset.key = key;
    th.addEventListener("click", () => {
      if (sortKey === key) sortDesc = !sortDesc; else { sortKey = key; sortDesc = false; }
      saveView({ sort: (sortDesc ? "-" : "") + sortKey });
      draw();
    });
    return th;
  }

  function draw() {
    title.textContent = `${model.get("project")}: ${rows.size} run${rows.size === 1 ? "" : "s"}`;
    error.textContent = model.get("error") || "";
    const anyRunning = [...rows.values()].some((r) => r.status === "running");
    note.textContent = anyRunning && model.get("_stop_mid_cell") === false
      ? "stop acts once the running cell ends: this kernel cannot take widget messages mid-cell"
      : "";
    table.replaceChildren();
    drawChoices();
    const off = hidden();
    const shownConfig = configColumns.filter((c) => !off.has("c:" + c));
    const shownMetrics = columns.filter((c) => !off.has("m:" + c));
    const highlighted = bus.get(project);
    const head = node("tr");
    for (const [key, label] of FIXED) head.appendChild(headerCell(key, label));
    for (const c of shownConfig) head.appendChild(headerCell("c:" + c, c));
    for (const c of shownMetrics) head.appendChild(headerCell("m:" + c, c));
    head.appendChild(node("th"));
    const thead = node("thead");
    thead.appendChild(head);
    const body = node("tbody");
    let list = [...rows.values()];
    if (sortKey) {
      list.sort((a, b) => {
        const x = sortValue(a, sortKey), y = sortValue(b, sortKey);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        const c = x < y ? -1 : 1;
        return sortDesc ? -c : c;
      });
    }
    for (const r of list) {
      const tr = node("tr", r.id === highlighted ? "tnb-highlight" : null);
      tr.dataset.runId = r.id;
      tr.addEventListener("click", () => bus.set(project, bus.get(project) === r.id ? null : r.id));
      tr.appendChild(node("td", "tnb-name", r.name));
      const st = node("td");
      st.appendChild(node("span", `tnb-badge tnb-status-${r.status}`, r.status));
      tr.appendChild(st);
      tr.appendChild(node("td", null, r.group));
      tr.appendChild(node("td", "tnb-num tnb-step", r.last_step === null ? "" : r.last_step));
      tr.appendChild(node("td", null, formatTime(r.created_at)));
      tr.appendChild(node("td", "tnb-num", formatDuration(r.duration_s)));
      for (const c of shownConfig) {
        const v = r.config ? r.config[c] : undefined;
        tr.appendChild(node("td", "tnb-config", typeof v === "number" ? formatNumber(v) : v === undefined || v === null ? "" : String(v)));
      }
      for (const c of shownMetrics) tr.appendChild(node("td", "tnb-num", formatNumber(r.metrics ? r.metrics[c] : null)));
      const act = node("td");
      if (r.status === "running") act.appendChild(stopButton(r));
      tr.appendChild(act);
      body.appendChild(tr);
    }
    if (!list.length) {
      const tr = node("tr");
      const td = node("td", "tnb-empty", "no runs yet");
      td.colSpan = FIXED.length + shownConfig.length + shownMetrics.length + 1;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    table.append(thead, body);
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "rows" || msg.seq <= applied) return;
    applied = msg.seq;
    if (msg.columns) columns = msg.columns;
    if (msg.config_columns) configColumns = msg.config_columns;
    for (const r of msg.rows) rows.set(r.id, r);
    schedule();
  }

  const onError = () => schedule();
  const onView = () => { readSort(); schedule(); };
  const onHighlight = (ev) => { if (ev.detail.project === project) schedule(); };
  model.on("change:rows", loadFull);
  model.on("change:columns", loadFull);
  model.on("change:config_columns", loadFull);
  model.on("change:error", onError);
  model.on("change:sort", onView);
  model.on("change:hidden", onView);
  model.on("change:_stop_mid_cell", onError);
  model.on("msg:custom", onMessage);
  bus.on(onHighlight);
  readSort();
  loadFull();
  draw();
  return () => {
    if (frame) cancelAnimationFrame(frame);
    model.off("change:rows", loadFull);
    model.off("change:columns", loadFull);
    model.off("change:config_columns", loadFull);
    model.off("change:error", onError);
    model.off("change:sort", onView);
    model.off("change:hidden", onView);
    model.off("change:_stop_mid_cell", onError);
    model.off("msg:custom", onMessage);
    bus.off(onHighlight);
  };
}

export default { render };
