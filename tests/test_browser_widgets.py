"""The widgets in headless Chromium (Debian's), with every non-local request aborted.

1. Live: a real JupyterLab 4 (and Notebook 7) on 127.0.0.1 runs a cell that logs 100 steps with a sleep; the
   table's step count changes while the cell is busy, and ends at 100 with 100 points per
   line in the chart.
2. Static: the same notebook executed by nbclient (widget state saved), exported to a page
   by `notebook_page_html`, shows the same numbers without a kernel.
Both check that a run named `<img src=x onerror=alert(1)>` is shown as text.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nbformat
import pytest

from tests.browser import Guard

EVIL = "<img src=x onerror=alert(1)>"
PROJECT = "live-demo"
CELL = f"""\
import time
import trackio_nb as tnb
dash = tnb.show({PROJECT!r})
display(dash)
run = tnb.init({PROJECT!r}, name={EVIL!r})
for step in range(1, 101):
    tnb.log({{"loss": 1.0 / step, "acc": step / 100}}, step=step)
    time.sleep({{sleep}})
tnb.alert("done <b>bold</b>", "all 100 steps logged")
tnb.finish()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WORKER = (
    "import subprocess, sys\n"
    "code = (\n"
    "    'import time, trackio_nb as tnb\\n'\n"
    f'    \'with tnb.init("{PROJECT}", name="worker"):\\n\'\n'
    "    '    for i in range(3000):\\n'\n"
    "    '        tnb.log({\"loss\": 1.0})\\n'\n"
    "    '        if tnb.should_stop(): break\\n'\n"
    "    '        time.sleep(0.02)\\n'\n"
    ")\n"
    "worker = subprocess.Popen([sys.executable, '-c', code])\n"
)


MIDCELL = "midcell"
BUSY_CELLS = [
    f"""\
import time
import trackio_nb as tnb
table = tnb.RunTable({MIDCELL!r})
display(table)
print("stop_mid_cell", table.stop_mid_cell)
steps, seen = 0, None
with tnb.init({MIDCELL!r}, name="busy") as run:
    for steps in range(1, 3001):
        tnb.log({{"loss": 1.0 / steps}})
        if tnb.should_stop():
            seen = time.time()
            break
        time.sleep(0.02)
print("stopped", steps, repr(seen))
""",
    'print("second", steps, run.status)',
    'print("third")',
]


def _midcell_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in BUSY_CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


def _notebook(path: Path, sleep: float, *, worker: bool = False) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL.replace("{sleep}", repr(sleep)))]
    if worker:
        nb.cells.append(nbformat.v4.new_code_cell(WORKER))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def browser(chromium_browser):
    return chromium_browser


def _jupyter(root: Path, module: str):
    """Start `python -m <module>` (jupyterlab or notebook) on 127.0.0.1 with temporary Jupyter dirs."""
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
        "TRACKIO_NB_DIR": str(root / "trackio_nb"),
    }
    env.pop("TRACKIO_NB_SERVER", None)
    log_path = root / f"{module}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--allow-root",
            '--ServerApp.jpserver_extensions={"jupyter_lsp": False, "jupyter_server_terminals": False}',
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/status", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            raise RuntimeError(f"{module} did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.2)
    try:
        yield base, root
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab 4 serving live.ipynb (a logging cell and a worker cell)."""
    root = tmp_path_factory.mktemp("lab")
    _notebook(root / "live.ipynb", sleep=0.06, worker=True)
    _midcell_notebook(root / "midcell.ipynb")
    yield from _jupyter(root, "jupyterlab")


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    """Notebook 7 serving live.ipynb (the logging cell)."""
    root = tmp_path_factory.mktemp("nb7")
    _notebook(root / "live.ipynb", sleep=0.06)
    _midcell_notebook(root / "midcell.ipynb")
    yield from _jupyter(root, "notebook")


def _step_text(page) -> str | None:
    cells = page.locator(".tnb-run-table tr[data-run-id] .tnb-step")
    return cells.first.inner_text() if cells.count() else None


def _chart_counts(page) -> dict:
    return page.evaluate(
        """() => {
        const chart = document.querySelector('.tnb-compare-chart');
        const view = chart && chart.tnbChart.view();
        if (!view) return {};
        const counts = {};
        for (const r of view.data('points')) {
          const k = r.run + '|' + r.metric;
          counts[k] = (counts[k] || 0) + 1;
        }
        return counts;
    }"""
    )


def _check_escaped(page) -> None:
    assert page.locator(".tnb-run-table td.tnb-name").first.inner_text() == EVIL
    assert page.locator(".tnb-run-table img").count() == 0
    assert page.locator(".tnb-alert-title").first.inner_text() == "done <b>bold</b>"
    assert page.locator(".tnb-alert-stream b").count() == 0


@contextlib.contextmanager
def _screenshot_on_failure(page, guard: Guard, shot: Path):
    """On any failure inside the block, save a full-page screenshot and say what the guard saw."""
    try:
        yield
    except BaseException:
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}; page errors: {guard.errors}; blocked: {guard.blocked}")
        raise


def _kernel_states(base: str, notebook: str) -> list[str]:
    """Execution states of the kernels of the sessions open on `notebook` (a file name)."""
    sessions = httpx.get(f"{base}/api/sessions").json()
    return [s["kernel"]["execution_state"] for s in sessions if Path(s["path"]).name == notebook and s.get("kernel")]


def _open_idle(page, base: str, url: str) -> None:
    """Open a notebook and wait until its own kernel is idle."""
    notebook = url.split("?")[0].rsplit("/", 1)[1]
    page.goto(url, timeout=60_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 60
    while "idle" not in _kernel_states(base, notebook):
        assert time.monotonic() < deadline, "the kernel never became idle"
        page.wait_for_timeout(200)  # (sync Playwright serves the route handler only inside its calls)


def _run_live_cell(page, base: str, url: str) -> None:
    """Open the notebook, run its first cell, and check the widgets update while it is busy."""
    _open_idle(page, base, url)
    page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
    page.keyboard.press("Control+Enter")

    seen_busy: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        prompt = page.locator(".jp-Cell .jp-InputPrompt").first.inner_text()
        step = _step_text(page)
        busy = "*" in prompt
        if busy and step:
            seen_busy.append(step)
        if not busy and step == "100":
            break
        page.wait_for_timeout(100)
    distinct = sorted({int(s) for s in seen_busy})
    assert len(distinct) >= 3, f"the step count did not change while the cell was busy: {seen_busy}"
    assert distinct[0] < 100
    assert _step_text(page) == "100"
    page.wait_for_function(
        "() => { const c = document.querySelector('.tnb-compare-chart');"
        " const v = c && c.tnbChart.view(); return v && v.data('points').length === 200 }",
        timeout=30_000,
    )
    assert _chart_counts(page) == {f"{EVIL}|loss": 100, f"{EVIL}|acc": 100}
    page.locator(".tnb-alert-title").first.wait_for(timeout=30_000)
    _check_escaped(page)


def test_live_notebook7_updates_while_the_cell_runs(browser, notebook7, tmp_path):
    base, _root = notebook7
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    # Notebook 7.6's own core bundle throws "reading 'schema'" while loading settings, with or
    # without our widgets (checked on a plain notebook): kept apart, every other error fails.
    guard = Guard(page, (base,), foreign=("/static/notebook/notebook_core.",))
    with _screenshot_on_failure(page, guard, tmp_path / "nb7-failure.png"):
        _run_live_cell(page, base, f"{base}/notebooks/live.ipynb")
        guard.check()
    page.close()


def test_live_jupyterlab_updates_while_the_cell_runs(browser, lab, tmp_path):
    base, _root = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    guard = Guard(page, (base,))
    with _screenshot_on_failure(page, guard, tmp_path / "live-failure.png"):
        _run_live_cell(page, base, f"{base}/lab/tree/live.ipynb?reset")

        # The stop button, while the kernel is free, stops a run in another process.
        page.locator(".jp-Notebook .jp-Cell .cm-content").nth(1).click()
        page.keyboard.press("Control+Enter")
        worker = page.locator(".tnb-run-table tr[data-run-id]", has_text="worker")
        worker.locator("button.tnb-stop").wait_for(timeout=30_000)  # the idle tail found the running run
        worker.locator("button.tnb-stop").click()
        worker.locator(".tnb-badge", has_text="finished").wait_for(timeout=30_000)
        assert int(worker.locator(".tnb-step").inner_text()) < 2999  # it stopped early
        guard.check()
    page.close()


def _stop_mid_cell(page, base: str, url: str) -> float:
    """Queue the three cells, click the busy run's stop button while cell 1 loops; returns the latency (s).

    Checks: the loop ends within 2 s of the click (far before its 60 s), and the two cells
    queued behind it run afterwards, in order, once each.
    """
    _open_idle(page, base, url)
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.first.locator(".cm-content").click()
    for _ in BUSY_CELLS:
        page.keyboard.press("Shift+Enter")  # run and advance: all three queued behind the busy one
    row = page.locator(".tnb-run-table tr[data-run-id]", has_text="busy")
    button = row.locator("button.tnb-stop")
    button.wait_for(timeout=60_000)  # the table shows the running run while its cell is busy
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tnb-run-table tr[data-run-id] .tnb-step')]"
        ".some(e => Number(e.textContent) >= 5)",
        timeout=30_000,
    )
    assert "*" in cells.nth(0).locator(".jp-InputPrompt").inner_text()
    assert page.locator(".tnb-stop-note").inner_text() == ""  # no "acts once the cell ends" note
    clicked = time.time()
    button.click()
    third = cells.nth(2).locator(".jp-OutputArea-output", has_text="third")
    third.wait_for(timeout=60_000)
    out = [cells.nth(i).locator(".jp-OutputArea-output").all_inner_texts() for i in range(3)]
    lines = [line for text in out[0] for line in text.splitlines() if line.startswith(("stop_mid_cell", "stopped "))]
    assert len(lines) == 2 and lines[0] == "stop_mid_cell True", out[0]
    stopped = lines[1]
    _, steps, seen = stopped.split()
    assert seen != "None" and int(steps) < 3000, stopped
    latency = float(seen) - clicked
    assert 0 < latency < 2.0, f"should_stop() turned True {latency:.2f} s after the click"
    assert [t.strip() for t in out[1]] == [f"second {steps} finished"]
    assert [t.strip() for t in out[2]] == ["third"]
    prompts = [cells.nth(i).locator(".jp-InputPrompt").inner_text() for i in range(3)]
    numbers = [int(p.strip().strip("[]:")) for p in prompts]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3, prompts
    return latency


@pytest.mark.parametrize("app", ["notebook7", "lab"])
def test_stop_button_stops_a_loop_mid_cell(browser, app, request, tmp_path):
    base, _root = request.getfixturevalue(app)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    nb7 = app == "notebook7"
    guard = Guard(page, (base,), foreign=("/static/notebook/notebook_core.",) if nb7 else ())
    url = f"{base}/notebooks/midcell.ipynb" if nb7 else f"{base}/lab/tree/midcell.ipynb?reset"
    with _screenshot_on_failure(page, guard, tmp_path / f"{app}-midcell-failure.png"):
        latency = _stop_mid_cell(page, base, url)
        print(f"{app}: click to should_stop() {latency * 1000:.0f} ms", file=sys.stderr)
        guard.check()
    page.close()


def test_static_page_from_saved_widget_state(browser, tmp_path, data_dir):
    from nbclient import NotebookClient

    from trackio_nb.widgets import notebook_page_html

    path = tmp_path / "live.ipynb"
    _notebook(path, sleep=0.0)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    page_path = tmp_path / "page.html"
    page_path.write_text(notebook_page_html(nb), encoding="utf-8")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    guard = Guard(page, ())
    page.goto(page_path.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_selector(".tnb-compare-chart[data-rendered=true]", timeout=30_000)
    assert _step_text(page) == "100"
    assert page.locator(".tnb-badge").first.inner_text() == "finished"
    assert _chart_counts(page) == {f"{EVIL}|loss": 100, f"{EVIL}|acc": 100}
    _check_escaped(page)
    assert EVIL in page.locator(".tnb-plot svg").inner_html().replace("&lt;", "<").replace("&gt;", ">")  # legend text
    assert page.locator(".tnb-root img").count() == 0
    # the log-scale toggle re-embeds once and keeps every point
    page.locator(".tnb-log-toggle").check()
    page.wait_for_function(
        "() => { const v = document.querySelector('.tnb-compare-chart').tnbChart.view();"
        " return v && v.data('points').length === 200 }",
        timeout=30_000,
    )
    # the level filter hides warn alerts when "error" is chosen
    page.locator(".tnb-level-filter").select_option("error")
    assert page.locator(".tnb-alert").count() == 0
    guard.check()
    page.close()
    saved = json.dumps(nb.metadata["widgets"])
    assert "cdn.jsdelivr" not in saved and "unpkg.com" not in saved


def test_table_sorts_by_column_and_alert_data_folds(browser, tmp_path, data_dir):
    import trackio_nb as tnb
    from trackio_nb.widgets import AlertStream, RunTable, page_html

    for name, steps, final in (("b", 5, 3.0), ("a", 20, 1.0), ("c", 10, 2.0)):
        with tnb.init("sorting", name=name):
            for i in range(steps):
                tnb.log({"loss": final + steps - 1 - i})
            if name == "c":
                tnb.alert("custom <script>", level="info", data={"reason": "custom", "k": [1, 2], "note": "<b>x</b>"})
    table, alerts = RunTable("sorting"), AlertStream("sorting")
    path = tmp_path / "sorting.html"
    path.write_text(page_html([table, alerts]), encoding="utf-8")
    table.close()
    alerts.close()

    page = browser.new_page()
    guard = Guard(page, ())
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)

    def names() -> list[str]:
        return page.locator(".tnb-run-table td.tnb-name").all_inner_texts()

    assert names() == ["b", "a", "c"]  # oldest first
    page.locator(".tnb-run-table th[data-key=last_step]").click()
    assert names() == ["b", "c", "a"]
    page.locator(".tnb-run-table th[data-key=last_step]").click()
    assert names() == ["a", "c", "b"]
    page.locator(".tnb-run-table th[data-key='m:loss']").click()
    assert names() == ["a", "c", "b"]  # last loss 1, 2, 3
    assert page.locator(".tnb-run-table td.tnb-step").all_inner_texts() == ["19", "9", "4"]
    page.locator(".tnb-run-table th[data-key=name]").click()
    assert names() == ["a", "b", "c"]
    page.locator(".tnb-alert details summary").click()
    folded = json.loads(page.locator(".tnb-alert details pre").inner_text())
    assert folded == {"reason": "custom", "k": [1, 2], "note": "<b>x</b>"}
    assert page.locator(".tnb-alert-title").inner_text() == "custom <script>"
    assert page.locator(".tnb-root b, .tnb-root script").count() == 0
    page.locator(".tnb-level-filter").select_option("warn")
    assert page.locator(".tnb-alert").count() == 0
    page.locator(".tnb-level-filter").select_option("info")
    assert page.locator(".tnb-alert").count() == 1
    guard.check()
    page.close()


def test_chart_tooltip_names_the_run_step_and_value(browser, tmp_path, data_dir):
    import trackio_nb as tnb
    from trackio_nb.widgets import CompareChart, page_html

    for lr in (0.1, 0.5):
        run = tnb.init("tips", f"lr{lr}")
        for step in range(50):
            run.log({"loss": 1 / (1 + step * lr)})
        run.finish()
    page_path = tmp_path / "tips.html"
    chart = CompareChart("tips", "loss")
    page_path.write_text(page_html([chart]), encoding="utf-8")
    chart.close()  # the page holds a copy of its state; the live widget is not needed
    page = browser.new_page(viewport={"width": 900, "height": 700})
    guard = Guard(page, ())
    page.goto(page_path.as_uri())
    page.wait_for_selector(".tnb-compare-chart[data-rendered=true]", timeout=30_000)
    box = page.locator(".tnb-plot svg").first.bounding_box()
    tip = None
    for fx in (0.3, 0.4, 0.5, 0.6):  # sweep down a few columns until the pointer is on a line
        for i in range(4, 36):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * i / 40)
            page.wait_for_timeout(20)
            tip = page.evaluate(
                "() => { const e = document.getElementById('vg-tooltip-element');"
                " return e && e.classList.contains('visible') ? e.innerText : null }"
            )
            if tip:
                break
        if tip:
            break
    assert tip is not None, "no tooltip anywhere on the lines"
    fields = dict(zip(*[iter(line.strip() for line in tip.split("\n") if line.strip())] * 2, strict=True))
    assert set(fields) == {"run", "metric", "step", "value", "smoothed"}
    assert fields["smoothed"] == fields["value"]  # smoothing starts at 0
    assert fields["run"] in ("lr0.1", "lr0.5") and fields["metric"] == "loss"
    lr = float(fields["run"][2:])
    assert float(fields["value"]) == pytest.approx(1 / (1 + int(fields["step"]) * lr), abs=5e-3)
    guard.check()
    page.close()


def test_table_says_when_the_stop_button_waits_for_the_cell(browser, tmp_path, data_dir):
    """Where the kernel cannot route the click (stop_mid_cell False), a note under the rows says so."""
    import trackio_nb as tnb
    from trackio_nb.widgets import RunTable, static_state
    from trackio_nb.widgets.static import _page

    run = tnb.init("waits", name="running")
    tnb.log({"loss": 1.0})
    table = RunTable("waits")
    assert table.stop_mid_cell is False  # no kernel here
    items = [
        {"esm": table._esm, "state": {**static_state(table), "_stop_mid_cell": routed}} for routed in (False, True)
    ]
    path = tmp_path / "waits.html"
    path.write_text(_page(items, "waits"), encoding="utf-8")
    table.close()
    run.finish()

    page = browser.new_page()
    guard = Guard(page, ())
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    notes = page.locator(".tnb-stop-note").all_inner_texts()
    assert notes == ["stop acts once the running cell ends: this kernel cannot take widget messages mid-cell", ""]
    titles = page.locator("button.tnb-stop").evaluate_all("bs => bs.map(b => b.title)")
    assert [t.endswith("(acts when this kernel is free)") for t in titles] == [True, False]
    guard.check()
    page.close()
