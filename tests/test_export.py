"""Notebook export: widget views of an executed notebook render offline from saved state."""

from __future__ import annotations

import nbformat
import pytest

from tests.browser import offline_page
from tests.report_support import (
    data_dir_env,
)
from trackio_nb.export import export_notebook

CELLS = [
    "import trackio_nb as tnb",
    """for i, lr in enumerate([0.1, 0.3]):
    with tnb.init("nbexp", f"lr-{lr}", config={"lr": lr}) as run:
        for step in range(30):
            run.log({"loss": 1.0 / (step + 1) + lr, "acc": step / 30})
        if i:
            run.alert("loss plateau", "no progress", level=tnb.AlertLevel.WARN, data={"reason": "custom"})""",
    'tnb.show("nbexp")',
    'import ipywidgets\nipywidgets.IntSlider(value=7, description="<k>")',
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbexp")
    src = root / "train.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS]), src)
    with data_dir_env(root / "data"):
        # run in a fresh kernel with widget state stored (as JupyterLab's "save widget state")
        html = export_notebook(src, root / "train.html", execute=True)
    assert all(not cell.outputs for cell in nbformat.read(src, as_version=4).cells)  # source untouched
    return src, html


def _open(browser, path, javascript=True):
    page = offline_page(browser, javascript=javascript)
    page.goto(path.as_uri())
    return page


def test_widget_views_render_offline(chromium_browser, exported):
    _, html = exported
    text = html.read_text(encoding="utf-8")
    assert "<script src" not in text.lower()
    from trackio_nb.widgets.bundle import vega_bundle

    assert text.count(vega_bundle()[1000:1400]) == 1  # the page inlines the bundle once; the model's copy is dropped
    page = _open(chromium_browser, html)
    status = page.evaluate("window.tnbNotebookWidgets.ready.then(() => window.tnbNotebookWidgets)")
    assert (status["mounted"], status["failed"], status["skipped"]) == (1, 0, 1), status["errors"]
    page.wait_for_selector('.tnb-compare-chart[data-rendered="true"]')
    chart = page.evaluate(
        """() => { const r = document.querySelector('.tnb-compare-chart');
        const rows = r.tnbChart.view().data('points');
        return [Array.from(new Set(rows.map((d) => d.metric))).sort(),
                Array.from(new Set(rows.map((d) => d.run))).sort(), rows.length,
                r.querySelectorAll('.mark-line path').length]; }"""
    )
    assert chart == [
        ["acc", "loss"],
        ["lr-0.1", "lr-0.3"],
        120,
        8,
    ]  # 2 runs x 2 metrics x 30 steps; raw + smoothed lines
    table = page.locator(".tnb-widget-view table").first
    assert "lr-0.1" in table.inner_text() and "lr-0.3" in table.inner_text()
    assert page.locator(".tnb-widget-view .tnb-alert-title").all_inner_texts() == ["loss plateau"]
    fallbacks = page.locator(".tnb-widget-fallback")
    assert fallbacks.count() == 2 and fallbacks.nth(0).is_hidden()
    # a widget this page cannot draw (ipywidgets' slider) keeps its text/plain
    assert fallbacks.nth(1).inner_text() == "IntSlider(value=7, description='<k>')"
    assert page.errors == [] and page.blocked == []
    page.context.close()


def test_without_javascript_the_static_fallback_shows(chromium_browser, exported):
    _, html = exported
    page = _open(chromium_browser, html, javascript=False)
    fallback = page.locator(".tnb-widget-fallback").first
    assert fallback.is_visible()
    assert "lr-0.1" in fallback.inner_text() and "loss plateau" in fallback.inner_text()
    page.context.close()


def test_notebook_without_saved_state_keeps_the_fallback(chromium_browser, tmp_path):
    # what a notebook saved without widget state holds: the view's model id and the fallbacks
    view = {"model_id": "0123abcd", "version_major": 2, "version_minor": 0}
    cell = nbformat.v4.new_code_cell("tnb.RunTable('nbexp')", execution_count=1)
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={
                "application/vnd.jupyter.widget-view+json": view,
                "text/html": '<div class="tnb-static"><table><tr><td>lr-0.3</td></tr></table></div>',
                "text/plain": "RunTable(project='nbexp')",
            },
            execution_count=1,
        )
    ]
    bare = tmp_path / "bare.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), bare)
    out = export_notebook(bare)
    assert out == bare.with_suffix(".html").resolve()
    page = _open(chromium_browser, out)
    assert page.evaluate("typeof window.tnbNotebookWidgets") == "undefined"  # no state: no scripts inlined
    # nbconvert then picks the output's text/html: the widgets' static table
    assert page.locator(".tnb-widget-fallback").count() == 0
    assert page.locator(".jp-OutputArea-output .tnb-static").inner_text() == "lr-0.3"
    assert page.errors == [] and page.blocked == []
    page.context.close()


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="is not a notebook"):
        export_notebook(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError, match="no notebook at"):
        export_notebook(tmp_path / "missing.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "a.ipynb")
    with pytest.raises(ValueError, match="is a directory"):
        export_notebook(tmp_path / "a.ipynb", tmp_path)


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    from trackio_nb.cli import main

    assert main(["export", str(tmp_path / "missing.ipynb")]) == 1
    assert capsys.readouterr().err.strip() == f"trackio-nb: error: no notebook at '{tmp_path / 'missing.ipynb'}'"
    assert main(["export", str(tmp_path / "notes.txt")]) == 1
    assert (
        capsys.readouterr().err.strip() == f"trackio-nb: error: '{tmp_path / 'notes.txt'}' is not a notebook (.ipynb)"
    )
