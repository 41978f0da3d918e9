"""MediaPanel and the report's media section in headless Chromium, offline: the step slider or selector
changes the image shown, and an Html payload's script runs nothing (sandboxed iframe)."""

from __future__ import annotations

import numpy as np
import pytest

import trackio_nb as tnb
from tests.browser import offline_page

EVIL = "<p>hi</p><script>parent.document.title = 'pwned'; top.tnbPwned = 1; alert('x')</script>"
LEVELS = (10, 120, 250)

PIXEL_JS = """(img) => { const c = document.createElement('canvas'); c.width = img.naturalWidth;
  c.height = img.naturalHeight; const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  return [img.naturalWidth, img.naturalHeight, g.getImageData(0, 0, 1, 1).data[0]]; }"""


@pytest.fixture
def seeded(data_dir):
    with tnb.init("gallery", "r1") as run:
        for step, level in enumerate(LEVELS):
            run.log({"img": tnb.Image(np.full((4, 6), level, dtype=np.uint8)), "loss": 1.0 / (step + 1)})
        run.log({"page": tnb.Html(EVIL, caption="evil"), "h": tnb.Histogram([1, 2, 2, 3], num_bins=3)})
        run.log({"big": tnb.Image(np.full((900, 500, 3), 77, dtype=np.uint8))})
    return run


def _blocked_by_the_sandbox(page) -> None:
    """Chromium reports each refused script of a sandboxed frame; those are the only console errors."""
    blocked = "console: Blocked script execution in 'about:srcdoc' because the document's frame is sandboxed"
    assert page.errors and all(e.startswith(blocked) for e in page.errors), page.errors
    page.errors.clear()


def _shown_pixel(page, selector: str) -> list:
    return page.locator(selector).evaluate(PIXEL_JS)


def test_panel_step_slider_changes_the_image_and_html_stays_sandboxed(chromium_browser, seeded, tmp_path):
    from trackio_nb.widgets import page_html

    panel = tnb.MediaPanel("gallery")
    path = tmp_path / "panel.html"
    try:
        path.write_text(page_html([panel]), encoding="utf-8")
    finally:
        panel.close()
    page = offline_page(chromium_browser)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    title = page.title()
    section = "section.tnb-media-key[data-key=img]"
    page.wait_for_selector(f"{section} img")
    assert page.locator(f"{section} .tnb-media-step").inner_text() == "step 2"
    assert _shown_pixel(page, f"{section} img") == [6, 4, 250]
    page.locator(f"{section} .tnb-media-slider").fill("0")
    page.wait_for_selector(f"{section} figure[data-step='0']")
    assert page.locator(f"{section} .tnb-media-step").inner_text() == "step 0"
    page.wait_for_function(f'() => document.querySelector("{section} img").complete')
    assert _shown_pixel(page, f"{section} img") == [6, 4, 10]
    page.locator(f"{section} .tnb-media-slider").fill("1")
    page.wait_for_selector(f"{section} figure[data-step='1']")
    page.wait_for_function(f'() => document.querySelector("{section} img").complete')
    assert _shown_pixel(page, f"{section} img") == [6, 4, 120]
    frame = page.locator("section.tnb-media-key[data-key=page] iframe")
    assert frame.get_attribute("sandbox") == ""
    assert page.locator("section.tnb-media-key[data-key=page] figcaption").inner_text() == "evil"
    assert page.locator("section.tnb-media-key[data-key=h] svg rect").count() == 3
    page.wait_for_timeout(300)
    assert page.title() == title and page.evaluate("typeof window.tnbPwned") == "undefined"
    _blocked_by_the_sandbox(page)
    page.guard.check()  # no other error, no dialog: the payload's alert() never ran
    page.close()


def test_report_media_section_selects_steps_and_sandboxes_html(chromium_browser, seeded, tmp_path):
    report = tnb.report("gallery", tmp_path / "report.html")
    html = report.read_text(encoding="utf-8")
    assert "Images larger than 384 px on a side are shown as downscaled thumbnails (JPEG when opaque)" in html
    page = offline_page(chromium_browser)
    page.goto(report.as_uri())
    title = page.title()
    run = "#tnbr-media-section .tnbr-media-key[data-key=img] .tnbr-media-run"
    visible = f"{run} [data-step]:not([hidden]) img"
    assert _shown_pixel(page, visible)[2] == 250
    page.locator(f"{run} select").select_option("0")
    assert page.locator(f"{run} [data-step]:not([hidden])").get_attribute("data-step") == "0"
    assert _shown_pixel(page, visible) == [6, 4, 10]
    big = "#tnbr-media-section .tnbr-media-key[data-key=big] img"
    assert _shown_pixel(page, big) == [213, 384, 77]  # 900x500 downscaled to 384 on its long side
    assert page.locator(big).get_attribute("data-thumbnail") == "1"
    assert page.locator("#tnbr-media-section iframe").get_attribute("sandbox") == ""
    page.wait_for_timeout(300)
    assert page.title() == title and page.evaluate("typeof window.tnbPwned") == "undefined"
    _blocked_by_the_sandbox(page)
    page.guard.check()
    page.close()


HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head><body><div id="host"></div>
<script type="module">
const src = %(esm)s;
const state = %(state)s;
const handlers = new Map();
const model = {
  get: (k) => state[k], set: (k, v) => { state[k] = v; }, save_changes() {}, send() {},
  on: (ev, f) => { if (!handlers.has(ev)) handlers.set(ev, []); handlers.get(ev).push(f); },
  off: () => {},
};
window.deliver = (msg, buffers) => (handlers.get("msg:custom") || []).forEach((f) =>
  f(msg, buffers.map((b) => new DataView(new Uint8Array(b).buffer))));
const mod = await import(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
mod.default.render({ model, el: document.getElementById("host") });
document.body.dataset.ready = "true";
</script></body></html>"""


def test_panel_applies_live_deltas_with_binary_buffers(chromium_browser, seeded, tmp_path):
    """A "media" message (new items + new files as buffers) adds a step; the slider follows the latest."""
    import json

    from trackio_nb.widgets.hub import HUB
    from trackio_nb.widgets.static import static_state

    panel = tnb.MediaPanel("gallery", key="img")
    sent = []
    panel.send = lambda content, buffers=None: sent.append((content, buffers))
    try:
        page_path = tmp_path / "host.html"
        state = json.dumps(static_state(panel)).replace("<", "\\u003c")
        page_path.write_text(HOST_PAGE % {"esm": json.dumps(panel._esm), "state": state}, encoding="utf-8")
        run = tnb.init("gallery", "r1", resume="allow")
        run.log({"img": tnb.Image(np.full((4, 6), 33, dtype=np.uint8))})
        run.flush()
        HUB.tick()  # while the run is live: a delta, not a full sync
    finally:
        panel.close()
    run.finish()
    [(message, buffers)] = sent
    page = offline_page(chromium_browser)
    page.goto(page_path.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    section = "section.tnb-media-key[data-key=img]"
    page.wait_for_selector(f"{section} figure[data-step='2']")
    page.evaluate("([m, b]) => window.deliver(m, b)", [message, [list(b) for b in buffers]])
    page.wait_for_selector(f"{section} figure[data-step='5']")
    assert page.locator(f"{section} .tnb-media-slider").get_attribute("max") == "3"
    page.wait_for_function(f'() => document.querySelector("{section} img").complete')
    assert _shown_pixel(page, f"{section} img") == [6, 4, 33]
    page.evaluate("([m, b]) => window.deliver(m, b)", [message, [list(b) for b in buffers]])  # a resend: ignored
    assert page.locator(f"{section} .tnb-media-slider").get_attribute("max") == "3"
    page.guard.check()
    page.close()


def test_report_with_many_large_images_stays_small(data_dir, tmp_path):
    """25 steps of 800x800 noise (~48 MB of PNG stored): the report keeps 20 JPEG thumbnails, under 3 MB."""
    rng = np.random.default_rng(0)
    with tnb.init("heavy", "r") as run:
        for _ in range(25):
            run.log({"img": tnb.Image(rng.integers(0, 256, (800, 800, 3), dtype=np.uint8))})
    html = tnb.report("heavy", tmp_path / "heavy.html").read_text(encoding="utf-8")
    assert html.count('data-thumbnail="1"') == 20
    assert html.count("data:image/jpeg;base64,") == 20 and "data:image/png;base64," not in html
    assert len(html.encode()) < 3_000_000
