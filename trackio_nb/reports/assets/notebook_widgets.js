// trackio_nb exported notebook: renders saved widget views offline through window.tnbWidgetHost.
// anywidget models run their saved `_esm` with the model shim; Box models lay out their
// children; anything else keeps the static text/html fallback the output carried.
(function () {
  "use strict";
  const BOXES = { VBoxModel: "column", HBoxModel: "row", BoxModel: "row", GridBoxModel: "row" };
  const status = { mounted: 0, failed: 0, errors: [], skipped: 0 };
  window.tnbNotebookWidgets = status;

  function savedModels() {
    const el = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
    if (!el) return {};
    const saved = JSON.parse(el.textContent);
    return (saved && saved.state) || {};
  }

  // Binary trait values are saved apart from the state (base64, with their path): put them back.
  function withBuffers(entry) {
    const state = JSON.parse(JSON.stringify(entry.state || {}));
    for (const buffer of entry.buffers || []) {
      let target = state;
      const path = buffer.path || [];
      for (const part of path.slice(0, -1)) target = target[part];
      target[path[path.length - 1]] = buffer.data;
    }
    return state;
  }

  async function renderModel(models, id, el) {
    const entry = models[id];
    if (!entry) throw new Error("no saved state for widget " + id + " (save the notebook with widget state)");
    const state = withBuffers(entry);
    if (entry.model_module === "anywidget" && typeof state._esm === "string") {
      await window.tnbWidgetHost.mount(el, state._esm, state._css, state);
      return true;
    }
    const direction = BOXES[entry.model_name];
    if (direction) {
      const box = document.createElement("div");
      box.style.display = "flex";
      box.style.flexDirection = direction;
      box.style.gap = "8px";
      box.style.flexWrap = "wrap";
      el.appendChild(box);
      let any = false;
      for (const ref of state.children || []) {
        const child = document.createElement("div");
        box.appendChild(child);
        any = (await renderModel(models, String(ref).replace(/^IPY_MODEL_/, ""), child)) || any;
      }
      return any;
    }
    return false;
  }

  async function start() {
    const models = savedModels();
    const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
    for (const script of views) {
      const holder = script.parentElement;
      const target = document.createElement("div");
      target.className = "tnb-widget-view";
      const fallback = holder.querySelector(":scope > .tnb-widget-fallback");
      holder.insertBefore(target, fallback);
      try {
        const view = JSON.parse(script.textContent);
        const shown = await renderModel(models, view.model_id, target);
        if (shown) {
          status.mounted += 1;
          if (fallback) fallback.hidden = true;
        } else {
          status.skipped += 1;
        }
      } catch (err) {
        status.failed += 1;
        status.errors.push(String((err && err.stack) || err));
      }
    }
    status.done = true;
  }

  status.ready = new Promise((resolve) => {
    const go = () => start().then(resolve, resolve);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  });
})();
