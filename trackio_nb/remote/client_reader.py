"""`RemoteReader`: the Reader protocol answered by a tracking server's LocalReader.

Each method posts its arguments to /api/v1/query/<name> and gets back the very frame the
server's LocalReader built (an Arrow IPC stream), so the Api, CLI, widgets and reports give
the same answers remotely as locally. Errors come back as the same Python types.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

import httpx
import polars as pl

from ..errors import ServerError
from ..presentation import iso_utc
from ..storage.media_files import check_blob, check_name, write_blobs
from . import wire
from .delivery import JSON_HEADERS
from .transport import make_client, normalize_url, raise_for


class RemoteReader:
    """Reads projects from the tracking server at `server_url` (one httpx Client, with timeouts)."""

    def __init__(self, server_url: str, token: str | None = None) -> None:
        self.server_url = normalize_url(server_url)
        self._http = make_client(self.server_url, token)

    def close(self) -> None:
        self._http.close()

    def _request(
        self, method: str, path: str, payload: dict | None = None, params: dict | None = None
    ) -> httpx.Response:
        try:
            if payload is None:
                response = self._http.request(method, path, params=params)
            else:
                response = self._http.request(method, path, content=wire.dumps(payload), headers=JSON_HEADERS)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach the trackio-nb server at {self.server_url}: {exc}") from None
        raise_for(response, self.server_url)
        return response

    def _frame(self, name: str, payload: dict) -> pl.DataFrame:
        return wire.frame_from_bytes(self._request("POST", f"/query/{name}", payload).content)

    def health(self) -> dict:
        return self._request("GET", "/health").json()

    def projects(self) -> list[str]:
        return self._request("GET", "/projects").json()["projects"]

    def runs(self, project: str) -> pl.DataFrame:
        return self._frame("runs", {"project": project})

    def metrics(self, project: str, run_ids: list[str] | None = None) -> list[str]:
        reply = self._request("POST", "/query/metrics", {"project": project, "run_ids": run_ids})
        return reply.json()["metrics"]

    def final_values(
        self, project: str, run_ids: list[str] | None = None, metrics: list[str] | None = None, mode: str = "last"
    ) -> pl.DataFrame:
        return self._frame("final_values", {"project": project, "run_ids": run_ids, "metrics": metrics, "mode": mode})

    def history(self, project: str, run_id: str, metrics: list[str] | None = None) -> pl.DataFrame:
        return self._frame("history", {"project": project, "run_id": run_id, "metrics": metrics})

    def alerts(
        self,
        project: str,
        run_ids: list[str] | None = None,
        level: str | None = None,
        reason: str | None = None,
        since: datetime | None = None,
        after_id: int | None = None,
    ) -> pl.DataFrame:
        payload = {
            "project": project,
            "run_ids": run_ids,
            "level": level,
            "reason": reason,
            "since": iso_utc(since),
            "after_id": after_id,
        }
        return self._frame("alerts", payload)

    def stop(self, project: str, run_id: str) -> bool:
        return self._request("POST", "/stop", {"project": project, "run_id": run_id}).json()["stopped"]

    def removal_counts(self, project: str, run_id: str | None = None) -> dict[str, int]:
        return self._request("POST", "/query/removal_counts", {"project": project, "run_id": run_id}).json()

    def delete_run(self, project: str, run_id: str) -> dict[str, int]:
        return self._request("POST", "/runs/delete", {"project": project, "run_id": run_id}).json()

    def delete_project(self, project: str) -> dict[str, int]:
        return self._request("POST", "/projects/delete", {"project": project}).json()

    def rename_run(self, project: str, run_id: str, name: str) -> None:
        self._request("POST", "/runs/rename", {"project": project, "run_id": run_id, "name": name})

    def move_run(self, project: str, run_id: str, to_project: str) -> dict[str, int]:
        payload = {"project": project, "run_id": run_id, "to_project": to_project}
        return self._request("POST", "/runs/move", payload).json()

    def media(
        self, project: str, run_ids: list[str] | None = None, key: str | None = None, after_id: int | None = None
    ) -> pl.DataFrame:
        return self._frame("media", {"project": project, "run_ids": run_ids, "key": key, "after_id": after_id})

    def media_file(self, project: str, name: str) -> bytes:
        """One media file's bytes from the server, checked against its content address."""
        data = self._request("GET", "/media-file", params={"project": project, "file": check_name(name)}).content
        check_blob(name, data)
        return data

    def media_path(self, project: str, name: str) -> Path:
        """A local copy of a server's media file, fetched once into a content-addressed cache."""
        path = media_cache_dir() / check_name(name)
        if not path.exists():
            write_blobs(media_cache_dir(), {name: self.media_file(project, name)})
        return path

    def tail(
        self,
        project: str,
        *,
        chunk_after: int | None = 0,
        alert_after: int | None = 0,
        metrics: list[str] | None = None,
        exclude_run_ids: list[str] | tuple[str, ...] = (),
    ):
        """What the server stored after the cursors (live widgets tailing a server)."""
        payload = {
            "project": project,
            "chunk_after": chunk_after,
            "alert_after": alert_after,
            "metrics": metrics,
            "exclude_run_ids": list(exclude_run_ids),
        }
        return wire.tail_from_dict(self._request("POST", "/query/tail", payload).json())


def media_cache_dir() -> Path:
    """Where media files read from servers are kept (TRACKIO_NB_MEDIA_CACHE, else a temp folder)."""
    override = os.environ.get("TRACKIO_NB_MEDIA_CACHE")
    return Path(override) if override else Path(tempfile.gettempdir()) / "trackio_nb-media-cache"
