"""Static pages: the widgets' own ES modules rendered from saved state, with no kernel and no CDN.

`page_html(widgets)` renders live widget objects; `notebook_page_html(nb)` renders the widget
state a notebook saved (nbclient `store_widget_state=True`), in output order. The page holds
the static widget host (assets/widget_host.js, the one reports and exports use too), the Vega
bundle and the modules.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from ..errors import InvalidValue
from ..presentation import dumps
from . import assets
from .bundle import vega_bundle

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
_NOT_STATE = {"layout", "tabbable", "tooltip", "vega", "_esm", "_css"}

_BOOT = """
const data = JSON.parse(document.getElementById("tnb-data").textContent);
if (data.vega) {
  await new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = URL.createObjectURL(new Blob([data.vega], { type: "text/javascript" }));
    s.onload = resolve;
    s.onerror = () => reject(new Error("the Vega bundle failed to load"));
    document.head.appendChild(s);
  });
}
const host = document.getElementById("tnb-widgets");
for (const w of data.widgets) {
  const el = document.createElement("div");
  el.className = "tnb-widget";
  host.appendChild(el);
  await window.tnbWidgetHost.mount(el, w.esm, "", w.state);
}
document.body.dataset.ready = "true";
"""


def static_state(widget: Any) -> dict:
    """A widget's synced state as a JSON-ready dict, without its module, CSS or Vega bundle.

    Binary values (a MediaPanel's files) become base64 text, as saved notebook state holds them.
    """
    state = widget.get_state()
    return {k: _text_bytes(v) for k, v in state.items() if k not in _NOT_STATE and not k.startswith("_")}


def _text_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _text_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_bytes(v) for v in value]
    return value


def _restore_buffers(state: dict, buffers: list[dict]) -> dict:
    """Saved widget state keeps binary traits apart (`buffers`: path + base64); put them back as base64 text."""
    state = json.loads(json.dumps(state))
    for buffer in buffers:
        *parents, last = buffer["path"]
        target = state
        for part in parents:
            target = target[part] if isinstance(target, list) else target.setdefault(part, {})  # list: a chart's series
        target[last] = buffer["data"]
    return state


def with_buffers(model: Mapping) -> dict:
    """A saved model's state with its binary buffers put back at their paths (base64 text)."""
    return _restore_buffers(model["state"], model.get("buffers", []))


def _esm_of(widget: Any) -> str:
    return widget._esm


def page_html(widgets: Iterable[Any], title: str = "trackio_nb") -> str:
    """A self-contained HTML page showing `widgets` (RunTable, CompareChart, AlertStream, Dashboard)."""
    items = []
    for widget in widgets:
        children = getattr(widget, "children", None)
        for w in children if children is not None else [widget]:
            items.append({"esm": _esm_of(w), "state": static_state(w)})
    return _page(items, title)


def notebook_page_html(nb: Mapping, title: str = "trackio_nb notebook") -> str:
    """A page with every anywidget a notebook displayed, rendered from its saved widget state."""
    saved = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})
    if not saved:
        raise InvalidValue("the notebook holds no saved widget state (execute it with store_widget_state=True)")
    items: list[dict] = []

    def add(model_id: str) -> None:
        model = saved.get(model_id)
        if model is None:
            raise InvalidValue(f"the notebook displays widget {model_id!r} but saved no state for it")
        state = _restore_buffers(model["state"], model.get("buffers", []))
        if model["model_name"] == "AnyModel":
            clean = {k: v for k, v in state.items() if k not in _NOT_STATE and not k.startswith("_")}
            items.append({"esm": state["_esm"], "state": clean})
        for child in state.get("children", []):
            add(child.removeprefix("IPY_MODEL_"))

    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW_MIME)
            if view is not None:
                add(view["model_id"])
    return _page(items, title)


def _page(items: list[dict], title: str) -> str:
    needs_vega = any("spec" in item["state"] for item in items)
    payload = {"vega": vega_bundle() if needs_vega else "", "widgets": items}
    data = dumps(payload, compact=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{assets.css()}</style></head>\n"
        f'<body><div id="tnb-widgets"></div>\n<script id="tnb-data" type="application/json">{data}</script>\n'
        f"<script>{assets.host()}</script>\n"
        f'<script type="module">{_BOOT}</script>\n</body></html>\n'
    )
