"""Chart features in headless Chromium, network blocked: smoothing (the raw path kept), the x-axis
switch, a run table row highlighting that run in the chart, and a sweep chart gaining a point when a
run finishes (the real delta message the widget sent, delivered to its page)."""

from __future__ import annotations

import json

import pytest

import trackio_nb as tnb
from tests.browser import offline_page
from tests.conftest import run_python
from trackio_nb.widgets import CompareChart, RunTable, SweepChart
from trackio_nb.widgets.bundle import vega_bundle
from trackio_nb.widgets.hub import HUB
from trackio_nb.widgets.static import static_state

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>%(css)s</style></head><body>
<script>%(vega)s</script>
<div id="host"></div>
<script type="module">
const widgets = %(widgets)s;
window.deliver = {};
for (const w of widgets) {
  const handlers = new Map();
  const state = w.state;
  const emit = (ev, ...args) => (handlers.get(ev) || []).forEach((f) => f(...args));
  const model = {
    get: (k) => state[k], set: (k, v) => { state[k] = v; emit("change:" + k); }, save_changes() {}, send() {},
    on: (ev, f) => { if (!handlers.has(ev)) handlers.set(ev, []); handlers.get(ev).push(f); },
    off: () => {},
  };
  window.deliver[w.name] = (msg, buffers) => emit("msg:custom", msg, buffers.map((b) => new DataView(new Uint8Array(b).buffer)));
  const el = document.createElement("div");
  el.id = w.name;
  document.getElementById("host").appendChild(el);
  const mod = await import(URL.createObjectURL(new Blob([w.esm], { type: "text/javascript" })));
  mod.default.render({ model, el });
}
document.body.dataset.ready = "true";
</script></body></html>"""

SEED = """
import trackio_nb as tnb
for lr, noise in ((0.1, 0.5), (0.3, -0.5)):
    with tnb.init("feat", name=f"lr{lr}", config={"lr": lr}):
        for step in range(40):
            tnb.log({"loss": 1 / (1 + lr * step) + (noise if step % 2 else -noise)})
"""


def write_page(tmp_path, named: dict) -> str:
    from trackio_nb.widgets import assets

    widgets = [{"name": n, "esm": w._esm, "state": static_state(w)} for n, w in named.items()]
    text = PAGE % {
        "css": assets.css(),
        "vega": vega_bundle().replace("</script", "<\\/script"),
        "widgets": json.dumps(widgets).replace("<", "\\u003c"),
    }
    path = tmp_path / "features.html"
    path.write_text(text, encoding="utf-8")
    return path.as_uri()


@pytest.fixture
def page(chromium_browser, tmp_path, data_dir):
    assert run_python(SEED, data_dir).returncode == 0
    table, chart = RunTable("feat"), CompareChart("feat", "loss")
    try:
        url = write_page(tmp_path, {"table": table, "chart": chart})
    finally:
        table.close()
        chart.close()
    page = offline_page(chromium_browser)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#chart .tnb-compare-chart[data-rendered=true]")
    yield page
    page.guard.check()
    page.close()


def paths(page) -> dict:
    """The `d` of every drawn line, by layer (0: raw, 1: smoothed) and run."""
    return page.evaluate(
        """() => {
        const out = {};
        for (const g of document.querySelectorAll('#chart .mark-line')) {
          const layer = /layer_(\\d)/.exec(g.getAttribute('class'))[1];
          for (const p of g.querySelectorAll('path')) {
            out[layer + '|' + (p.__data__ && p.__data__.datum ? p.__data__.datum.run : '?')] = p.getAttribute('d');
          }
        }
        return out;
    }"""
    )


def ys_of(page, run: str) -> list:
    return page.evaluate(
        "(run) => document.querySelector('#chart .tnb-compare-chart').tnbChart.view().data('points')"
        ".filter((r) => r.run === run).sort((a, b) => a.step - b.step).map((r) => r.ys)",
        run,
    )


def ema(values: list[float], alpha: float) -> list[float]:
    out, acc, weight = [], 0.0, 0.0
    for v in values:
        acc = alpha * acc + (1 - alpha) * v
        weight = alpha * weight + (1 - alpha)
        out.append(acc / weight)
    return out


def test_smoothing_changes_the_drawn_path_and_keeps_the_raw_one(page):
    before = paths(page)
    assert before["0|lr0.1"] == before["1|lr0.1"]  # smoothing 0: the bold line is the raw line
    page.locator("#chart .tnb-smoothing").fill("0.8")
    page.wait_for_function("() => document.querySelector('#chart .tnb-smoothing-value').textContent === '0.80'")
    page.wait_for_function(
        "(old) => { const p = document.querySelector('#chart .child_layer_1_marks path');"
        " return p && p.getAttribute('d') !== old }",
        arg=before["1|lr0.1"],
    )
    after = paths(page)
    assert after["0|lr0.1"] == before["0|lr0.1"] and after["0|lr0.3"] == before["0|lr0.3"]  # raw kept
    assert after["1|lr0.1"] != before["1|lr0.1"] and after["1|lr0.3"] != before["1|lr0.3"]
    [view] = [r for r in tnb.Api().runs("feat") if r.name == "lr0.1"]
    raw = view.history("loss")["loss"].to_list()
    assert ys_of(page, "lr0.1") == pytest.approx(ema(raw, 0.8), rel=1e-12)
    opacity = page.evaluate(
        "() => [0, 1].map((i) => document.querySelector(`#chart .child_layer_${i}_marks path`).getAttribute('opacity'))"
    )
    assert opacity == ["0.25", "1"]  # raw faint, smoothed bold


def test_x_axis_switch_redraws_by_wall_time_and_relative_time(page):
    def axis_titles() -> list[str]:
        return page.evaluate(
            "() => Array.from(document.querySelectorAll('#chart .role-axis-title text')).map((t) => t.textContent)"
        )

    assert "step" in axis_titles()
    [view] = [r for r in tnb.Api().runs("feat") if r.name == "lr0.3"]
    stamps = [t.timestamp() for t in view.history("loss")["timestamp"].to_list()]
    page.locator("#chart .tnb-x-axis").select_option("time")
    page.wait_for_selector("#chart .tnb-compare-chart[data-x=time]")
    page.wait_for_function("() => !!document.querySelector('#chart .tnb-compare-chart').tnbChart.view()")
    assert "wall time" in axis_titles()
    xs = page.evaluate(
        "() => document.querySelector('#chart .tnb-compare-chart').tnbChart.view().data('points')"
        ".filter((r) => r.run === 'lr0.3').sort((a, b) => a.step - b.step).map((r) => r.x)"
    )
    assert xs == pytest.approx([t * 1000 for t in stamps], abs=1e-3)  # epoch milliseconds
    page.locator("#chart .tnb-x-axis").select_option("relative")
    page.wait_for_selector("#chart .tnb-compare-chart[data-x=relative]")
    page.wait_for_function("() => !!document.querySelector('#chart .tnb-compare-chart').tnbChart.view()")
    assert "relative time (s)" in axis_titles()
    xs = page.evaluate(
        "() => document.querySelector('#chart .tnb-compare-chart').tnbChart.view().data('points')"
        ".filter((r) => r.run === 'lr0.3').sort((a, b) => a.step - b.step).map((r) => r.x)"
    )
    assert xs == pytest.approx([t - stamps[0] for t in stamps], abs=1e-6)


def test_clicking_a_table_row_highlights_that_run_in_the_chart(page):
    [target] = [r for r in tnb.Api().runs("feat") if r.name == "lr0.3"]

    def smoothed_opacity() -> dict:
        return page.evaluate(
            """() => Object.fromEntries(Array.from(document.querySelectorAll('#chart .child_layer_1_marks path'))
                .map((p) => [p.__data__.datum.run, p.getAttribute('opacity')]))"""
        )

    assert smoothed_opacity() == {"lr0.1": "1", "lr0.3": "1"}
    page.locator(f"#table tr[data-run-id='{target.id}']").click()
    page.wait_for_function(
        f"() => document.querySelector('#chart .tnb-compare-chart').dataset.highlight === '{target.id}'"
    )
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#chart .child_layer_1_marks path'))"
        ".some((p) => p.getAttribute('opacity') === '0.12')"
    )
    assert smoothed_opacity() == {"lr0.1": "0.12", "lr0.3": "1"}
    assert page.locator(f"#table tr[data-run-id='{target.id}']").get_attribute("class") == "tnb-highlight"
    page.locator(f"#table tr[data-run-id='{target.id}']").click()  # again: no highlight
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#chart .child_layer_1_marks path'))"
        ".every((p) => p.getAttribute('opacity') === '1')"
    )


def test_sweep_chart_gains_a_point_when_a_run_finishes(chromium_browser, tmp_path, data_dir):
    assert run_python(SEED, data_dir).returncode == 0
    sweep = SweepChart("feat", "loss", "lr")
    sent = []
    sweep.send = lambda content, buffers=None: sent.append(content)
    try:
        url = write_page(tmp_path, {"sweep": sweep})
        code = 'import trackio_nb as tnb\nwith tnb.init("feat", name="lr1.0", config={"lr": 1.0}):\n    tnb.log({"loss": 0.125})'
        assert run_python(code, data_dir).returncode == 0
        HUB.tick()
    finally:
        sweep.close()
    [message] = sent
    page = offline_page(chromium_browser)
    page.goto(url)
    page.wait_for_selector("#sweep .tnb-sweep-chart[data-rendered=true]")

    def drawn() -> list:
        return page.evaluate(
            "() => Array.from(document.querySelectorAll('#sweep .mark-symbol path')).map((p) => p.__data__.datum)"
            ".filter((d) => d && d.run_id).map((d) => d.run).sort()"  # (legend symbols carry no run_id)
        )

    assert drawn() == ["lr0.1", "lr0.3"]
    page.evaluate("(m) => window.deliver.sweep(m, [])", message)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#sweep .mark-symbol path'))"
        ".filter((p) => p.__data__ && p.__data__.datum && p.__data__.datum.run_id).length === 3"
    )
    assert drawn() == ["lr0.1", "lr0.3", "lr1.0"]
    assert "3 runs" in page.locator("#sweep .tnb-title").inner_text()
    page.guard.check()
    page.close()
