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
  return row[key];
}

function render({ model, el }) {
  const root = node("div", "tnb-root tnb-run-table");
  const title = node("div", "tnb-title");
  const error = node("div", "tnb-error");
  const table = node("table", "tnb-table");
  const note = node("div", "tnb-note tnb-stop-note");
  root.append(title, error, table, note);
  el.appendChild(root);

  let rows = new Map(); // id -> row, in arrival order
  let columns = [];
  let applied = -1;
  let sortKey = null;
  let sortDesc = false;
  let frame = 0;

  function loadFull() {
    rows = new Map((model.get("rows") || []).map((r) => [r.id, r]));
    columns = model.get("columns") || [];
    applied = model.get("seq");
    schedule();
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
      b.addEventListener("click", () => {
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
    const head = node("tr");
    for (const [key, label] of FIXED) head.appendChild(headerCell(key, label));
    for (const c of columns) head.appendChild(headerCell("m:" + c, c));
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
      const tr = node("tr");
      tr.dataset.runId = r.id;
      tr.appendChild(node("td", "tnb-name", r.name));
      const st = node("td");
      st.appendChild(node("span", `tnb-badge tnb-status-${r.status}`, r.status));
      tr.appendChild(st);
      tr.appendChild(node("td", null, r.group));
      tr.appendChild(node("td", "tnb-num tnb-step", r.last_step === null ? "" : r.last_step));
      tr.appendChild(node("td", null, formatTime(r.created_at)));
      tr.appendChild(node("td", "tnb-num", formatDuration(r.duration_s)));
      for (const c of columns) tr.appendChild(node("td", "tnb-num", formatNumber(r.metrics ? r.metrics[c] : null)));
      const act = node("td");
      if (r.status === "running") act.appendChild(stopButton(r));
      tr.appendChild(act);
      body.appendChild(tr);
    }
    if (!list.length) {
      const tr = node("tr");
      const td = node("td", "tnb-empty", "no runs yet");
      td.colSpan = FIXED.length + columns.length + 1;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    table.append(thead, body);
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "rows" || msg.seq <= applied) return;
    applied = msg.seq;
    if (msg.columns) columns = msg.columns;
    for (const r of msg.rows) rows.set(r.id, r);
    schedule();
  }

  const onError = () => schedule();
  model.on("change:rows", loadFull);
  model.on("change:columns", loadFull);
  model.on("change:error", onError);
  model.on("change:_stop_mid_cell", onError);
  model.on("msg:custom", onMessage);
  loadFull();
  draw();
  return () => {
    if (frame) cancelAnimationFrame(frame);
    model.off("change:rows", loadFull);
    model.off("change:columns", loadFull);
    model.off("change:error", onError);
    model.off("change:_stop_mid_cell", onError);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
