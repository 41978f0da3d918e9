"""Export a notebook to one HTML file whose trackio_nb widget views work offline.

Stock `jupyter nbconvert --to html` loads require.js and the widget manager from CDNs, so
offline it shows nothing for widgets. This export uses nbconvert's `lab` template with the
CDN scripts removed and inlines instead: the Vega bundle (once), the widget host shim and
a boot script that renders each saved widget view from the notebook's widget state
(anywidget models run their saved `_esm`; boxes lay out their children). Each widget's
`text/html` (else `text/plain`) fallback is kept inside its view: it shows when JavaScript is
off, and for widgets this page cannot render (other libraries' non-anywidget widgets).

    trackio-nb export notebook.ipynb [-o notebook.html] [--execute]
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from .errors import InvalidValue, MissingExtra

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
TEMPLATE_NAME = "trackio_nb_export.html.j2"
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_widget_view scoped -%}
{%- set datatype = (output.data | filter_data_type)[0] %}
<div class="jupyter-widgets jp-OutputArea-output {{ extra_class }}">
<script type="{{ datatype }}">
{{ output.data[datatype] | json_dumps | escape_html_script }}
</script>
{%- if 'text/html' in output.data %}
<div class="tnb-widget-fallback">{{ output.data['text/html'] }}</div>
{%- elif 'text/plain' in output.data %}
<pre class="tnb-widget-fallback">{{ output.data['text/plain'] | escape }}</pre>
{%- endif %}
</div>
{%- endblock data_widget_view -%}
{%- block footer_js -%}
{{ super() }}
{{ resources.trackio_nb_scripts }}
{%- endblock footer_js -%}
"""


def _scripts(with_widgets: bool) -> str:
    from .reports.page import asset, inline_script

    if not with_widgets:
        return ""
    from .widgets import assets
    from .widgets.bundle import vega_bundle

    parts = [vega_bundle(), assets.host(), asset("notebook_widgets.js")]
    return "".join(f"<script>{inline_script(p)}</script>" for p in parts)


def _slim_state(nb: Any) -> bool:
    """Drop the Vega bundle model's text from the saved state (the page inlines the bundle once)."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for entry in state.values():
        saved = entry.get("state", {})
        if entry.get("model_module") == "anywidget" and str(saved.get("_anywidget_id", "")).endswith(".VegaBundle"):
            entry["buffers"] = [b for b in entry.get("buffers", []) if b.get("path") != ["gz"]]
    return bool(state)


def _conversion_stack() -> tuple[Any, Any, Any]:
    """nbformat, jinja2's DictLoader and nbconvert's HTMLExporter, or MissingExtra naming [export]."""
    try:
        import nbformat
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter
    except ImportError:
        raise MissingExtra("export", "trackio-nb export (notebook to HTML)") from None
    return nbformat, DictLoader, HTMLExporter


def execute_notebook(nb: Any, cwd: str | os.PathLike[str], timeout: int = 600) -> Any:
    """Run every cell in a fresh kernel, saving widget state into the notebook's metadata."""
    try:
        from nbclient import NotebookClient
    except ImportError:
        raise MissingExtra("export", "trackio-nb export --execute (running the notebook)") from None

    client = NotebookClient(nb, timeout=timeout, store_widget_state=True, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def export_notebook(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str] | None = None,
    *,
    execute: bool = False,
) -> Path:
    """Write `src` (.ipynb) as HTML to `dest` (default: beside it, .html); return the path.

    With `execute`, the notebook is run first (nbclient, widget state stored). Without it,
    widget views need the state saved in the notebook (JupyterLab: Settings → Save Widget
    State Automatically, or nbclient's store_widget_state).
    """
    nbformat, DictLoader, HTMLExporter = _conversion_stack()

    source = Path(src)
    if source.suffix != ".ipynb":
        raise InvalidValue(f"{str(source)!r} is not a notebook (.ipynb)")
    if not source.is_file():
        raise FileNotFoundError(f"no notebook at {str(source)!r}")
    target = Path(dest) if dest is not None else source.with_suffix(".html")
    if target.is_dir():
        raise InvalidValue(f"{str(target)!r} is a directory; give a file name such as notebook.html")
    nb = nbformat.read(source, as_version=4)
    if execute:
        nb = execute_notebook(nb, source.parent.resolve())
    nb = copy.deepcopy(nb)
    has_widgets = _slim_state(nb)
    exporter = HTMLExporter(
        template_name="lab", template_file=TEMPLATE_NAME, extra_loaders=[DictLoader({TEMPLATE_NAME: TEMPLATE})]
    )
    body, _ = exporter.from_notebook_node(
        nb, resources={"trackio_nb_scripts": _scripts(has_widgets), "metadata": {"name": source.stem}}
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target.resolve()
