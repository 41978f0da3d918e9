// trackio_nb report page: mounts the widget front ends (CompareChart per metric, AlertStream)
// from the embedded JSON state through window.tnbWidgetHost. Charts mount when scrolled near.
(function () {
  "use strict";
  const byId = (id) => document.getElementById(id);
  const data = JSON.parse(byId("tnbr-report-data").textContent);
  const modules = JSON.parse(byId("tnbr-widget-modules").textContent);
  const host = window.tnbWidgetHost;
  const status = { mounted: 0, failed: 0, errors: [], timings: [] };
  const pending = new Map();

  function showError(el, err) {
    const p = document.createElement("p");
    p.className = "tnbr-js-error";
    p.textContent = "Could not render this view: " + ((err && err.message) || String(err));
    el.appendChild(p);
    status.failed += 1;
    status.errors.push(String((err && err.stack) || err));
  }

  // The chart embeds Vega asynchronously after render() returns: wait for its rendered mark
  // (or its error line) before the next chart starts.
  function whenDrawn(el) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const chart = el.querySelector(".tnb-compare-chart");
        const failed = chart && chart.querySelector(".tnb-error");
        if (failed && failed.textContent) { watcher.disconnect(); reject(new Error(failed.textContent)); return; }
        if (chart && chart.dataset.rendered === "true") { watcher.disconnect(); resolve(chart); }
      };
      const watcher = new MutationObserver(check);
      watcher.observe(el, { subtree: true, childList: true, attributes: true, characterData: true });
      check();
    });
  }

  // Charts are drawn one at a time, in the order they are asked for: the first one on
  // screen appears as soon as it can instead of sharing the main thread with the rest.
  let queue = Promise.resolve();

  function drawChart(el) {
    const state = data.charts[Number(el.dataset.metricIndex)];
    const start = performance.now();
    return host.mount(el, modules.compare_chart, modules.css, state).then(() => whenDrawn(el)).then(
      () => {
        status.timings.push([start, performance.now()]);
        status.mounted += 1;
        el.dataset.rendered = "1";
      },
      (err) => showError(el, err),
    );
  }

  function mountChart(el) {
    if (!pending.has(el)) {
      queue = queue.then(() => drawChart(el));
      pending.set(el, queue);
    }
    return pending.get(el);
  }

  const charts = Array.from(document.querySelectorAll(".tnbr-chart"));
  if (typeof IntersectionObserver === "function") {
    const seen = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        mountChart(entry.target);
      }
    }, { rootMargin: "200px 0px" });
    charts.forEach((el) => seen.observe(el));
  } else {
    charts.forEach(mountChart);
  }

  let alertsDone = Promise.resolve();
  const alertBox = byId("tnbr-alerts-widget");
  if (alertBox && data.alert_stream) {
    alertsDone = host.mount(alertBox, modules.alert_stream, modules.css, data.alert_stream).then(
      () => { status.mounted += 1; byId("tnbr-alerts-static").hidden = true; },
      (err) => showError(alertBox, err),
    );
  }

  window.tnbReport = {
    data,
    status,
    renderAll: () => Promise.all([alertsDone, ...charts.map(mountChart)]).then(() => status),
  };
})();
