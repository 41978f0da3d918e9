// trackio_nb MediaPanel: latest media of each key per run, a step slider per key. Self-contained anywidget module.
// Text always goes through textContent; Html payloads only into <iframe sandbox=""> via srcdoc.
// Files arrive as binary buffers (the `files` trait, and `buffers` of "media" messages).

// The panel's own styles (prefixed tnb-media-), added once per page: in notebooks, exported pages and reports alike.
const CSS = [
  ".tnb-media-key { margin: 6px 0 10px; }",
  ".tnb-media-head { display: flex; gap: 8px; align-items: center; margin-bottom: 4px; }",
  ".tnb-media-slider { flex: 0 1 240px; }",
  ".tnb-media-grid { display: flex; flex-wrap: wrap; gap: 8px; }",
  ".tnb-media-item { margin: 0; padding: 4px; border: 1px solid #ddd; border-radius: 4px; max-width: 420px; overflow: auto; }",
  ".tnb-media-run { font-size: 11px; color: #666; margin-bottom: 2px; }",
  ".tnb-media-img { max-width: 400px; min-width: 64px; image-rendering: pixelated; display: block; }",
  ".tnb-media-html-frame { width: 400px; height: 220px; border: 1px solid #ccc; background: #fff; }",
  ".tnb-media-table { border-collapse: collapse; font-size: 12px; }",
  ".tnb-media-table th, .tnb-media-table td { border: 1px solid #ddd; padding: 2px 4px; vertical-align: top; }",
  ".tnb-media-hist rect { fill: #4c78a8; }",
  ".tnb-media-msg { font-size: 12px; margin: 2px 0; white-space: pre-wrap; }",
  ".tnb-media-item figcaption { font-size: 12px; color: #444; }",
].join("\n");

function addStyle() {
  if (document.getElementById("tnb-media-style")) return;
  const style = document.createElement("style");
  style.id = "tnb-media-style";
  style.textContent = CSS;
  document.head.appendChild(style);
}

function node(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function bytesOf(value) {
  if (value instanceof DataView) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return Uint8Array.from(atob(value), (c) => c.charCodeAt(0)); // saved state
  return null;
}

function mimeOf(name) {
  const ext = (name || "").split(".").pop().toLowerCase();
  const types = {
    png: "image/png", jpg: "image/jpeg", gif: "image/gif", webp: "image/webp", bmp: "image/bmp",
    svg: "image/svg+xml", wav: "audio/wav", mp3: "audio/mpeg", ogg: "audio/ogg", flac: "audio/flac",
    m4a: "audio/mp4", mp4: "video/mp4", webm: "video/webm", mov: "video/quicktime",
  };
  return types[ext] || "application/octet-stream";
}

// A small Markdown subset (headings, lists, code, emphasis, links as text), built as DOM nodes.
function inline(parent, text) {
  const pattern = /(\*\*[^*]+\*\*|\*[^*]+\*|`[^`]+`)/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    const t = m[0];
    if (t.startsWith("**")) parent.appendChild(node("strong", null, t.slice(2, -2)));
    else if (t.startsWith("`")) parent.appendChild(node("code", null, t.slice(1, -1)));
    else parent.appendChild(node("em", null, t.slice(1, -1)));
    last = m.index + t.length;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

function markdown(text) {
  const root = node("div", "tnb-media-md");
  let list = null;
  let code = null;
  for (const line of String(text).split("\n")) {
    if (line.startsWith("```")) {
      if (code) { root.appendChild(code.parentNode); code = null; } else { const pre = node("pre"); code = node("code"); pre.appendChild(code); }
      continue;
    }
    if (code) { code.textContent += line + "\n"; continue; }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*[-*+]\s+(.*)$/.exec(line);
    if (item) {
      if (!list) { list = node("ul"); root.appendChild(list); }
      const li = node("li"); inline(li, item[1]); list.appendChild(li);
      continue;
    }
    list = null;
    if (heading) { const h = node("h" + Math.min(6, heading[1].length + 2)); inline(h, heading[2]); root.appendChild(h); }
    else if (line.trim()) { const p = node("p"); inline(p, line); root.appendChild(p); }
  }
  if (code) root.appendChild(code.parentNode);
  return root;
}

function histogram(value) {
  const ns = "http://www.w3.org/2000/svg";
  const counts = (value && value.values) || [];
  const bins = (value && value.bins) || [];
  if (!counts.length) return node("em", null, "empty histogram");
  const width = 300, height = 100;
  const top = Math.max(...counts) || 1;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "tnb-media-hist");
  svg.setAttribute("viewBox", `0 0 ${width} ${height + 14}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height + 14);
  const bar = width / counts.length;
  counts.forEach((c, i) => {
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", i * bar);
    r.setAttribute("y", height - (c / top) * height);
    r.setAttribute("width", Math.max(bar - 1, 1));
    r.setAttribute("height", (c / top) * height);
    const title = document.createElementNS(ns, "title");
    title.textContent = `[${bins[i]}, ${bins[i + 1]}): ${c}`;
    r.appendChild(title);
    svg.appendChild(r);
  });
  for (const [x, anchor, v] of [[0, "start", bins[0]], [width, "end", bins[bins.length - 1]]]) {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", height + 12); t.setAttribute("font-size", "10");
    t.setAttribute("text-anchor", anchor);
    t.textContent = typeof v === "number" ? Number(v.toPrecision(4)) : String(v);
    svg.appendChild(t);
  }
  return svg;
}

function render({ model, el }) {
  addStyle();
  const root = node("div", "tnb-root tnb-media-panel");
  const bar = node("div", "tnb-toolbar");
  const title = node("span", "tnb-title");
  bar.appendChild(title);
  const error = node("div", "tnb-error");
  const body = node("div", "tnb-media-body");
  root.append(bar, error, body);
  el.appendChild(root);

  const items = new Map(); // id -> item
  const files = new Map(); // name -> Uint8Array
  const urls = new Map(); // name -> blob URL
  const sliders = new Map(); // key -> { step, follow }
  let applied = -1;
  let frame = 0;

  function url(name) {
    if (!urls.has(name)) {
      const data = files.get(name);
      if (!data) return null;
      urls.set(name, URL.createObjectURL(new Blob([data], { type: mimeOf(name) })));
    }
    return urls.get(name);
  }

  function loadFull() {
    items.clear();
    for (const it of model.get("items") || []) items.set(it.id, it);
    const given = model.get("files") || {};
    for (const [name, value] of Object.entries(given)) {
      const data = bytesOf(value);
      if (data) files.set(name, data);
    }
    applied = model.get("seq");
    trim();
    schedule();
  }

  function trim() {
    const cap = model.get("max_steps") || 50;
    const series = new Map();
    for (const it of items.values()) {
      const k = it.run_id + "\u0000" + it.key;
      if (!series.has(k)) series.set(k, []);
      series.get(k).push(it);
    }
    for (const list of series.values()) {
      if (list.length <= cap) continue;
      list.sort((a, b) => a.step - b.step || a.id - b.id);
      for (const old of list.slice(0, list.length - cap)) items.delete(old.id);
    }
  }

  function fileView(kind, name) {
    if (!name) return node("em", null, `${kind} file missing`);
    if (name.endsWith(".npy")) return node("em", null, "video frames stored as given (.npy): not playable here");
    const src = url(name);
    if (!src) return node("em", null, `${kind} file not sent (too large)`);
    if (kind === "image" || name.endsWith(".gif")) {
      const img = node("img", "tnb-media-img");
      img.src = src;
      img.alt = "";
      img.dataset.file = name;
      return img;
    }
    const player = node(kind === "audio" ? "audio" : "video");
    player.controls = true;
    player.src = src;
    return player;
  }

  function view(kind, value, file) {
    if (kind === "markdown") return markdown(value);
    if (kind === "html") {
      const frame = node("iframe", "tnb-media-html-frame");
      frame.setAttribute("sandbox", ""); // no scripts, no same-origin, no forms, no popups
      frame.srcdoc = String(value);
      return frame;
    }
    if (kind === "histogram") return histogram(value);
    if (kind === "table") {
      const table = node("table", "tnb-media-table");
      const head = node("tr");
      for (const c of (value && value.columns) || []) head.appendChild(node("th", null, c));
      const thead = node("thead"); thead.appendChild(head);
      const tbody = node("tbody");
      for (const row of ((value && value.data) || []).slice(0, 200)) {
        const tr = node("tr");
        for (const cell of row) {
          const td = node("td");
          if (cell && typeof cell === "object" && cell._type) td.appendChild(view(cell._type, cell.value, cell.file));
          else td.textContent = cell === null ? "" : typeof cell === "object" ? JSON.stringify(cell) : String(cell);
          tr.appendChild(td);
        }
        tbody.appendChild(tr);
      }
      table.append(thead, tbody);
      return table;
    }
    if (kind === "trace") {
      const box = node("div", "tnb-media-trace");
      for (const m of (value && value.messages) || []) {
        const line = node("div", "tnb-media-msg");
        line.appendChild(node("strong", null, (m.role || "") + " "));
        line.appendChild(document.createTextNode(typeof m.content === "string" ? m.content : JSON.stringify(m.content)));
        box.appendChild(line);
      }
      return box;
    }
    return fileView(kind, file);
  }

  function draw() {
    frame = 0;
    title.textContent = `${model.get("project")}: media`;
    error.textContent = model.get("error") || "";
    const byKey = new Map();
    for (const it of items.values()) {
      if (!byKey.has(it.key)) byKey.set(it.key, []);
      byKey.get(it.key).push(it);
    }
    body.replaceChildren();
    if (!byKey.size) { body.appendChild(node("em", "tnb-empty", "no media")); return; }
    for (const key of [...byKey.keys()].sort()) {
      const list = byKey.get(key);
      const steps = [...new Set(list.map((i) => i.step))].sort((a, b) => a - b);
      const state = sliders.get(key) || { step: steps[steps.length - 1], follow: true };
      if (state.follow || !steps.includes(state.step)) state.step = steps[steps.length - 1];
      sliders.set(key, state);
      const section = node("section", "tnb-media-key");
      section.dataset.key = key;
      const head = node("div", "tnb-media-head");
      head.appendChild(node("strong", null, key));
      const slider = node("input", "tnb-media-slider");
      slider.type = "range";
      slider.min = 0;
      slider.max = steps.length - 1;
      slider.value = steps.indexOf(state.step);
      slider.disabled = steps.length < 2;
      const label = node("span", "tnb-media-step", `step ${state.step}`);
      slider.addEventListener("input", () => {
        const step = steps[Number(slider.value)];
        sliders.set(key, { step, follow: Number(slider.value) === steps.length - 1 });
        schedule();
      });
      head.append(slider, label);
      const grid = node("div", "tnb-media-grid");
      const runs = new Map();
      for (const it of list) {
        if (it.step > state.step) continue;
        const best = runs.get(it.run_id);
        if (!best || it.step > best.step || (it.step === best.step && it.id > best.id)) runs.set(it.run_id, it);
      }
      for (const it of runs.values()) {
        const card = node("figure", `tnb-media-item tnb-media-${it.kind}`);
        card.dataset.run = it.run;
        card.dataset.step = it.step;
        card.appendChild(node("div", "tnb-media-run", `${it.run} · step ${it.step}`));
        card.appendChild(view(it.kind, it.value, it.file));
        if (it.caption) card.appendChild(node("figcaption", null, it.caption));
        grid.appendChild(card);
      }
      section.append(head, grid);
      body.appendChild(section);
    }
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function onMessage(msg, buffers) {
    if (!msg || msg.type !== "media" || msg.seq <= applied) return;
    applied = msg.seq;
    (msg.names || []).forEach((name, i) => {
      const data = bytesOf(buffers[i]);
      if (data) files.set(name, data);
    });
    for (const it of msg.items || []) items.set(it.id, it);
    trim();
    schedule();
  }

  model.on("change:items", loadFull);
  model.on("change:files", loadFull);
  model.on("change:error", schedule);
  model.on("msg:custom", onMessage);
  loadFull();
  return () => {
    model.off("change:items", loadFull);
    model.off("change:files", loadFull);
    model.off("change:error", schedule);
    model.off("msg:custom", onMessage);
    if (frame) cancelAnimationFrame(frame);
    for (const u of urls.values()) URL.revokeObjectURL(u);
  };
}

export default { render };
