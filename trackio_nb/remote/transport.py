"""The client's HTTP side: one httpx Client per backend or reader, and errors mapped to Python types."""

from __future__ import annotations

import httpx

from ..errors import InvalidValue, ServerError
from . import wire

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 10.0


def normalize_url(server_url: str) -> str:
    """`server_url` without a trailing slash; ValueError unless it is an http(s) URL."""
    if not isinstance(server_url, str) or not server_url.startswith(("http://", "https://")):
        raise InvalidValue(f"server URL must start with http:// or https://, got {server_url!r}")
    return server_url.rstrip("/")


def make_client(server_url: str, token: str | None, *, read_timeout: float = READ_TIMEOUT_S) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_S)
    url = normalize_url(server_url)
    # Plain http needs no TLS context: skipping it saves loading the CA bundle (~0.5 s) per client.
    verify = url.startswith("https://")
    return httpx.Client(base_url=url + wire.API, headers=headers, timeout=timeout, verify=verify)


def error_message(response: httpx.Response) -> tuple[str, str]:
    """(message, kind) from a server's error reply (or its raw text)."""
    try:
        body = response.json()
        return str(body["error"]), str(body.get("kind", ""))
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}", ""


def raise_for(response: httpx.Response, server_url: str) -> None:
    """Raise the Python error a server's 4xx/5xx stands for (the same a local read would raise)."""
    if response.status_code < 400:
        return
    message, kind = error_message(response)
    if response.status_code == 401:
        raise ServerError(f"{server_url} refused the token ({message}); pass token= or set TRACKIO_NB_TOKEN")
    error = wire.ERROR_KINDS.get(kind)
    if error is not None and response.status_code < 500:
        raise error(message)
    if response.status_code < 500:
        raise InvalidValue(message)
    raise ServerError(f"{server_url} failed: {message}")
