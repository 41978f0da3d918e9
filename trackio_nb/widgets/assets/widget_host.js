// trackio_nb widget host: renders anywidget front-end modules from saved state, no kernel.
// Used by HTML reports and by exported notebooks. Defines window.tnbWidgetHost.
(function () {
  "use strict";
  if (window.tnbWidgetHost) return;
  const moduleCache = new Map();
  const styled = new Set();

  // A model with the anywidget front-end surface. Nothing talks back to a kernel:
  // set() updates the local state and notifies listeners; send() and save_changes() do nothing.
  function makeModel(initial) {
    const state = Object.assign({}, initial);
    const handlers = new Map();
    function emit(name, args) {
      for (const fn of Array.from(handlers.get(name) || [])) fn.apply(null, args);
    }
    const model = {
      get(key) { return state[key]; },
      set(key, value) {
        state[key] = value;
        emit("change:" + key, [model, value]);
        emit("change", [model]);
      },
      on(name, fn) {
        for (const one of String(name).split(/\s+/)) {
          if (!handlers.has(one)) handlers.set(one, new Set());
          handlers.get(one).add(fn);
        }
      },
      off(name, fn) {
        if (name == null) { handlers.clear(); return; }
        for (const one of String(name).split(/\s+/)) {
          if (!handlers.has(one)) continue;
          if (fn) handlers.get(one).delete(fn); else handlers.delete(one);
        }
      },
      send() {},
      save_changes() {},
      widget_manager: { async get_model() { return undefined; } },
    };
    return model;
  }

  async function loadModule(esm) {
    if (!moduleCache.has(esm)) {
      const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
      moduleCache.set(esm, import(url));
    }
    const mod = await moduleCache.get(esm);
    let widget = mod.default !== undefined ? mod.default : mod;
    if (typeof widget === "function") widget = await widget();
    return widget;
  }

  function addStyle(css) {
    if (!css || styled.has(css)) return;
    styled.add(css);
    const style = document.createElement("style");
    style.textContent = css;
    document.head.appendChild(style);
  }

  // Render one widget: `esm` is the module source, `state` its synced traits.
  async function mount(el, esm, css, state) {
    addStyle(css);
    const widget = await loadModule(esm);
    const model = makeModel(state);
    if (widget && typeof widget.initialize === "function") await widget.initialize({ model });
    if (!widget || typeof widget.render !== "function") throw new Error("widget module has no render()");
    const cleanup = await widget.render({ model, el });
    return { model, cleanup };
  }

  window.tnbWidgetHost = { makeModel, loadModule, mount };
})();
