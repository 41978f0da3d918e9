"""Headless Debian Chromium for the browser tests: launch flags and a network guard (no tests here).

The `chromium_browser` fixture (tests/conftest.py) launches one browser per session.
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OFFLINE = ("file:", "data:", "blob:")


class Guard:
    """Aborts and records every request that is not local; records page errors and dialogs.

    `console=True` also counts console errors as page errors (pages of our own; JupyterLab's
    console is noisy with things unrelated to the widgets). An error thrown at the top of a
    stack frame inside one of the `foreign` script paths (the host application's own bundle)
    is kept apart in `foreign_errors` instead of failing the page.
    """

    def __init__(
        self, page, local_prefixes: tuple[str, ...] = (), *, console: bool = False, foreign: tuple[str, ...] = ()
    ) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.foreign_errors: list[str] = []  # raised inside `foreign` scripts (the host app's own bugs)
        self.dialogs: list[str] = []
        self.local = (*OFFLINE, *local_prefixes)
        self.foreign = foreign
        page.route("**/*", self._route)
        page.on("pageerror", self._page_error)
        page.on("dialog", self._dialog)
        if console:
            page.on("console", lambda msg: msg.type == "error" and self.errors.append("console: " + msg.text))

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.local):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _page_error(self, exc) -> None:
        stack = getattr(exc, "stack", None) or ""
        first_frame = next((line for line in stack.splitlines() if line.strip().startswith("at ")), "")
        if self.foreign and any(part in first_frame for part in self.foreign):
            self.foreign_errors.append(str(exc))
        else:
            self.errors.append(str(exc))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self) -> None:
        assert self.errors == []
        assert self.blocked == []
        assert self.dialogs == []  # no markup from data ever ran alert()


def offline_page(browser, *, javascript: bool = True):
    """A page in a fresh context, guarded offline; `page.errors` / `page.blocked` are the guard's lists."""
    page = browser.new_context(java_script_enabled=javascript).new_page()
    guard = Guard(page, console=True)
    page.errors, page.blocked, page.guard = guard.errors, guard.blocked, guard
    return page
