"""Reports in headless Chromium, offline: content, charts, best run, JavaScript off, escaping."""

from __future__ import annotations

import pytest

import trackio_nb as tnb
from tests.browser import offline_page
from tests.report_support import (
    data_dir_env,
    seed_vision,
    stop_pending,
)
from trackio_nb.widgets.bundle import vega_bundle

CHARTS_JS = """() => Array.from(document.querySelectorAll('.tnbr-chart')).map((el) => {
  const root = el.querySelector('.tnb-compare-chart');
  const rows = root.tnbChart.view().data('points');
  const paths = Array.from(root.querySelectorAll('.mark-line path'));
  return {
    metric: el.closest('.tnbr-chart-box').querySelector('h3').textContent,
    runs: Array.from(new Set(rows.map((r) => r.run_id))).sort(),
    lines: paths.length,
    thick: paths.filter((p) => p.getAttribute('stroke-width') === '3.5').length,
    opacities: paths.map((p) => p.getAttribute('opacity') || p.getAttribute('stroke-opacity') || '1'),
  };
})"""

BRIGHT_LINES = """(n) => Array.from(document.querySelectorAll('.tnbr-chart')[1].querySelectorAll('.mark-line path'))
  .filter((p) => (p.getAttribute('opacity') || '1') === '1').length === n"""

XSS = {
    "project": "<i>proj</i>\"'&",
    "run": "<script>window.__pwned = 1</script>",
    "run2": '<img src=x onerror="window.__pwned = 2">',
    "config": "</script><script>window.__pwned = 3</script>",
    "metric": "<img src=m onerror=window.__pwned=7>",
    "title": "<img src=y onerror=window.__pwned=4>",
    "text": "</script><svg onload=window.__pwned=5>",
    "data": "<svg/onload=window.__pwned=6>",
}


@pytest.fixture(scope="module")
def vision_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("vision")
    ids, proc = seed_vision(root)
    with data_dir_env(root):
        path = tnb.report("vision", root / "vision.html")
        alerts = tnb.Api().alerts("vision")
    stop_pending(proc)
    return path, ids, alerts


@pytest.fixture(scope="module")
def xss_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("xss")
    for name in (XSS["run"], XSS["run2"]):
        run = tnb.init(XSS["project"], name, config={"note": XSS["config"], "k": name}, dir=root)
        for step in range(5):
            run.log({XSS["metric"]: float(step)})
        run.alert(XSS["title"], XSS["text"], level=tnb.AlertLevel.ERROR, data={"note": XSS["data"]})
        run.finish()
    with data_dir_env(root):
        return tnb.report(XSS["project"], root / "xss.html", title=XSS["title"])


def _open(browser, path, *, javascript=True):
    page = offline_page(browser, javascript=javascript)
    page.goto(path.as_uri())
    if javascript:
        status = page.evaluate("window.tnbReport.renderAll()")
        assert status["failed"] == 0, status["errors"]
    return page


def test_report_offline_shows_runs_alerts_and_one_chart_per_metric(chromium_browser, vision_report):
    path, ids, alerts = vision_report
    page = _open(chromium_browser, path)
    assert page.evaluate("window.tnbReport.status.mounted") == 3  # two charts and the alert stream
    names = page.locator("#tnbr-runs .tnbr-name").all_inner_texts()
    assert names == ["baseline", "wide", "wide", "pending"]
    assert page.inner_text("#tnbr-run-counts") == "4: 1 running, 2 finished, 1 failed"
    assert page.inner_text("#tnbr-alert-counts") == "2: 1 error, 1 info"
    # every alert title, in the widget (newest first); the static timeline is hidden behind it
    titles = [a["title"] for a in alerts]
    assert titles == ["warmup done", "loss is NaN"]
    assert page.locator("#tnbr-alerts-widget .tnb-alert-title").all_inner_texts() == titles[::-1]
    assert page.locator("#tnbr-alerts-static").is_hidden()
    charts = page.evaluate(CHARTS_JS)
    logged = sorted([ids["baseline"], ids["wide"], ids["hot"]])
    assert [(c["metric"], c["runs"], c["lines"], c["thick"]) for c in charts] == [
        ("acc", logged, 3, 1),
        ("loss", logged, 3, 1),
    ]
    # the best run (lowest final loss among finished runs) is marked in the table
    best_row = page.locator("#tnbr-runs tr.tnbr-best-run")
    assert best_row.get_attribute("data-run-id") == ids["wide"]
    assert best_row.locator(".tnbr-best-badge").inner_text() == "★ best"
    assert page.errors == [] and page.blocked == []
    page.context.close()


def test_legend_click_toggles_runs(chromium_browser, vision_report):
    path, ids, _ = vision_report
    page = _open(chromium_browser, path)
    before = page.evaluate(CHARTS_JS)[1]["opacities"]
    assert before == ["1", "1", "1"]
    chart = page.locator(".tnbr-chart").nth(1)
    labels = chart.locator(".role-legend-label text")
    # legend entry -> its colour; a line is bright (opacity 1) or dimmed (0.12)
    colours = dict(
        zip(
            labels.all_text_contents(),
            chart.locator(".role-legend-symbol path").evaluate_all("ps => ps.map((p) => p.getAttribute('stroke'))"),
            strict=True,
        )
    )
    assert sorted(colours) == sorted(["baseline", f"wide ({ids['wide']})", f"wide ({ids['hot']})"])

    def bright():
        return sorted(
            chart.locator(".mark-line path").evaluate_all(
                "ps => ps.filter((p) => (p.getAttribute('opacity') || '1') === '1').map((p) => p.getAttribute('stroke'))"
            )
        )

    labels.filter(has_text="baseline").click()
    page.wait_for_function(BRIGHT_LINES, arg=1)
    assert bright() == [colours["baseline"]]
    labels.filter(has_text=ids["hot"]).click(modifiers=["Shift"])
    page.wait_for_function(BRIGHT_LINES, arg=2)
    assert bright() == sorted([colours["baseline"], colours[f"wide ({ids['hot']})"]])
    chart.locator("svg.marks").dblclick(position={"x": 5, "y": 5})
    page.wait_for_function(BRIGHT_LINES, arg=3)
    assert bright() == sorted(colours.values())
    assert page.errors == []
    page.context.close()


def test_report_without_javascript_keeps_tables(chromium_browser, vision_report):
    path, _, alerts = vision_report
    page = _open(chromium_browser, path, javascript=False)
    assert page.locator("#tnbr-runs .tnbr-name").all_inner_texts() == ["baseline", "wide", "wide", "pending"]
    assert page.locator("#tnbr-alerts-static").is_visible()
    assert page.locator("#tnbr-alerts .tnbr-title").all_inner_texts() == [a["title"] for a in alerts]
    assert page.locator("#tnbr-runs th.tnbr-config").all_inner_texts() == ["batch", "lr", "opt.name"]
    assert page.locator(".tnbr-chart-box noscript").count() == 2
    page.context.close()


def test_report_is_one_file_with_the_bundle_inlined_once(vision_report):
    path, _, _ = vision_report
    text = path.read_text(encoding="utf-8")
    assert text.count(vega_bundle()[:400]) == 1
    assert "<script src" not in text.lower() and "<link" not in text.lower()


def test_markup_in_names_configs_and_alerts_is_shown_as_text(chromium_browser, xss_report):
    page = _open(chromium_browser, xss_report)
    assert page.evaluate("window.__pwned") is None
    assert page.title() == XSS["title"]
    assert page.inner_text("h1") == XSS["title"]
    assert page.locator("#tnbr-runs .tnbr-name").all_inner_texts() == [XSS["run"], XSS["run2"]]
    assert page.locator("#tnbr-runs td.tnbr-config").all_inner_texts() == [XSS["run"], XSS["run2"]]
    assert page.locator("#tnbr-runs th.tnbr-metric").inner_text() == XSS["metric"] + " ↓"  # a loss-like metric
    assert page.locator("#tnbr-alerts-widget .tnb-alert-title").all_inner_texts() == [XSS["title"]] * 2
    assert page.locator("#tnbr-alerts-widget .tnb-alert-text").all_inner_texts() == [XSS["text"]] * 2
    assert page.locator(".tnbr-chart-box h3").inner_text() == XSS["metric"]
    legend = page.locator(".role-legend-label text").all_text_contents()
    # Vega shortens long legend labels with an ellipsis; what it shows is the raw text
    for label, name in zip(sorted(legend), sorted([XSS["run"], XSS["run2"]]), strict=True):
        assert label.endswith("…") and len(label) > 20 and name.startswith(label[:-1])
    # nothing the data held became an element
    assert page.locator("img").count() == 0
    assert page.locator("svg[onload], [onerror], [onload]").count() == 0
    assert page.locator("body script").count() == 5  # two JSON blobs, Vega, the host, the page script
    page.locator("#tnbr-alerts-widget details").first.evaluate("d => d.open = true")
    assert XSS["data"] in page.locator("#tnbr-alerts-widget pre").first.inner_text()
    assert page.errors == [] and page.blocked == []
    page.context.close()
    static = offline_page(page.context.browser, javascript=False)
    static.goto(xss_report.as_uri())
    assert static.locator("#tnbr-alerts .tnbr-title").all_inner_texts() == [XSS["title"]] * 2
    assert static.locator("#tnbr-alerts code").first.inner_text() == '{"note": "' + XSS["data"] + '"}'
    assert static.locator("img").count() == 0
    static.context.close()


HOST_PROBE = """export default {
  initialize({ model }) { model.set("initialized", true); },
  render({ model, el }) {
    const draw = () => { el.textContent = `${model.get("n")} ${model.get("initialized")}`; };
    model.on("change:n", draw);
    draw();
    el.dataset.sendReturns = String(model.send({ type: "stop" }));
    model.save_changes();
    return () => model.off("change:n", draw);
  },
};"""


def test_widget_host_gives_modules_the_anywidget_model_surface(chromium_browser, tmp_path):
    from trackio_nb.widgets import assets

    page_file = tmp_path / "host.html"
    page_file.write_text(f"<div id=w></div><script>{assets.host()}</script>", encoding="utf-8")
    page = offline_page(chromium_browser)
    page.goto(page_file.as_uri())
    result = page.evaluate(
        """async (esm) => {
        const el = document.getElementById('w');
        const { model, cleanup } = await window.tnbWidgetHost.mount(el, esm, '.probe{color:red}', { n: 1 });
        const seen = [el.textContent, el.dataset.sendReturns];
        model.set('n', 2);
        seen.push(el.textContent);
        cleanup();
        model.set('n', 3);
        seen.push(el.textContent, model.get('n'), document.querySelectorAll('style').length);
        return seen;
    }""",
        HOST_PROBE,
    )
    assert result == ["1 true", "undefined", "2 true", "2 true", 3, 1]
    assert page.errors == []
    page.context.close()
