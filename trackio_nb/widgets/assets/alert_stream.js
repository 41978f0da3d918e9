// trackio_nb AlertStream: newest alert first, filter by level. Self-contained anywidget module.
// All alert text goes through textContent: never innerHTML with data.

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function formatTime(iso) {
  if (iso === null || iso === undefined) return "";
  return new Date(iso).toISOString().replace("T", " ").slice(0, 19);
}

const LEVELS = ["", "info", "warn", "error"];

function render({ model, el }) {
  const root = node("div", "tnb-root tnb-alert-stream");
  const bar = node("div", "tnb-toolbar");
  const title = node("span", "tnb-title");
  const label = node("label", null, "level ");
  const select = node("select", "tnb-level-filter");
  for (const lv of LEVELS) {
    const o = node("option", null, lv || "all");
    o.value = lv;
    select.appendChild(o);
  }
  label.appendChild(select);
  bar.append(title, label);
  const error = node("div", "tnb-error");
  const list = node("ul", "tnb-alerts");
  root.append(bar, error, list);
  el.appendChild(root);

  let alerts = new Map(); // id -> alert
  let applied = -1;
  let frame = 0;

  function loadFull() {
    alerts = new Map((model.get("alerts") || []).map((a) => [a.id, a]));
    applied = model.get("seq");
    schedule();
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }

  function item(a) {
    const li = node("li", `tnb-alert tnb-level-${a.level}`);
    li.dataset.alertId = String(a.id);
    const head = node("div", "tnb-alert-head");
    head.append(
      node("span", "tnb-alert-level", a.level),
      node("span", "tnb-alert-title", a.title),
      node("span", "tnb-muted", `${a.run}${a.step === null ? "" : " · step " + a.step}`),
    );
    const reason = a.data && typeof a.data.reason === "string" ? a.data.reason : null;
    if (reason) head.appendChild(node("span", "tnb-muted tnb-alert-reason", reason));
    head.appendChild(node("span", "tnb-muted", formatTime(a.timestamp)));
    li.appendChild(head);
    if (a.text) li.appendChild(node("div", "tnb-alert-text", a.text));
    const keys = a.data ? Object.keys(a.data) : [];
    if (keys.length) {
      const det = node("details");
      det.appendChild(node("summary", "tnb-muted", `data (${keys.length})`));
      det.appendChild(node("pre", null, JSON.stringify(a.data, null, 2)));
      li.appendChild(det);
    }
    return li;
  }

  function draw() {
    const level = model.get("level") || "";
    select.value = level;
    const shown = [...alerts.values()].filter((a) => !level || a.level === level).sort((a, b) => b.id - a.id);
    title.textContent = `${model.get("project")}: ${alerts.size} alert${alerts.size === 1 ? "" : "s"}`;
    error.textContent = model.get("error") || "";
    list.replaceChildren(...shown.map(item));
    if (!shown.length) list.appendChild(node("li", "tnb-empty", "no alerts"));
  }

  function onMessage(msg) {
    if (!msg || msg.type !== "alerts" || msg.seq <= applied) return;
    applied = msg.seq;
    for (const a of msg.alerts) if (!alerts.has(a.id)) alerts.set(a.id, a);
    schedule();
  }

  const onChange = () => schedule();
  select.addEventListener("change", () => {
    model.set("level", select.value);
    model.save_changes();
    draw();
  });
  model.on("change:alerts", loadFull);
  model.on("change:level", onChange);
  model.on("change:error", onChange);
  model.on("msg:custom", onMessage);
  loadFull();
  draw();
  return () => {
    if (frame) cancelAnimationFrame(frame);
    model.off("change:alerts", loadFull);
    model.off("change:level", onChange);
    model.off("change:error", onChange);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
