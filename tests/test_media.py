"""Media logged with log(): exact round trips, content-addressed files, bad input refused at the call."""

from __future__ import annotations

import io
import json
import sqlite3
import wave

import numpy as np
import pandas as pd
import polars as pl
import pytest
from PIL import Image as PILImage

import trackio_nb as tnb
from trackio_nb.errors import InvalidValue, MissingExtra
from trackio_nb.storage import project_path
from trackio_nb.storage.media_files import media_dir

RGB = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 7


def _pixels(path) -> np.ndarray:
    with PILImage.open(path) as image:
        return np.asarray(image)


def _logged(project: str, run, key: str | None = None) -> list[dict]:
    run.flush()
    return tnb.Api().run(project, run.id).media(key)


def test_image_pixels_round_trip_exactly(data_dir):
    gray = np.array([[0, 255], [17, 128]], dtype=np.uint8)
    rgba = np.dstack([RGB, np.full((2, 3), 200, np.uint8)])
    floats = np.array([[0.0, 0.5, 1.0]])
    with tnb.init("img") as run:
        run.log({"rgb": tnb.Image(RGB, caption="first"), "gray": tnb.Image(gray), "rgba": tnb.Image(rgba)})
        run.log({"float": tnb.Image(floats), "pil": tnb.Image(PILImage.fromarray(RGB))})
        rows = {r["key"]: r for r in _logged("img", run)}
    assert [(r["step"], r["kind"], r["caption"], r["value"]) for r in rows.values()] == [
        (0, "image", "first", None),
        (0, "image", None, None),
        (0, "image", None, None),
        (1, "image", None, None),
        (1, "image", None, None),
    ]
    assert np.array_equal(_pixels(rows["rgb"]["path"]), RGB)
    assert np.array_equal(_pixels(rows["gray"]["path"]), gray)
    assert np.array_equal(_pixels(rows["rgba"]["path"]), rgba)
    assert _pixels(rows["float"]["path"]).tolist() == [[0, 128, 255]]
    assert rows["pil"]["path"] == rows["rgb"]["path"]  # same pixels, same PNG, one file


def test_image_file_is_stored_as_given(data_dir, tmp_path):
    source = tmp_path / "photo.JPEG"
    buf = io.BytesIO()
    PILImage.fromarray(RGB).save(buf, format="JPEG")
    source.write_bytes(buf.getvalue())
    with tnb.init("file") as run:
        run.log({"photo": tnb.Image(str(source))})
        (row,) = _logged("file", run)
    assert row["path"].endswith(".jpg")
    with open(row["path"], "rb") as stored:
        assert stored.read() == buf.getvalue()


def test_identical_files_are_stored_once(data_dir):
    with tnb.init("dedup") as first:
        for _ in range(3):
            first.log({"a": tnb.Image(RGB), "b": tnb.Image(RGB.copy())})
    with tnb.init("dedup") as second:
        second.log({"a": tnb.Image(RGB)})
    files = [p for p in media_dir(project_path("dedup")).rglob("*") if p.is_file()]
    assert len(files) == 1
    assert len(tnb.Api().run("dedup", first.id).media()) == 6
    assert {r["path"] for r in tnb.Api().run("dedup", second.id).media()} == {str(files[0])}


def test_table_cells_round_trip(data_dir):
    frame = pd.DataFrame({"name": ["a", "b"], "score": [np.float32(0.5), np.nan], "n": np.array([1, 2])})
    with tnb.init("tables") as run:
        run.log(
            {
                "plain": tnb.Table(columns=["x", "y"], data=[[1, "one"], [2.5, None]]),
                "pandas": tnb.Table(dataframe=frame),
                "polars": tnb.Table(dataframe=pl.DataFrame({"k": ["p"], "v": [3]})),
                "records": tnb.Table(data=[{"a": 1}, {"a": 2, "b": True}]),
                "images": tnb.Table(columns=["id", "sample"], data=[[7, tnb.Image(RGB, caption="cell")]]),
            }
        )
        rows = {r["key"]: r["value"] for r in _logged("tables", run)}
    assert rows["plain"] == {"columns": ["x", "y"], "data": [[1, "one"], [2.5, None]]}
    assert rows["pandas"]["columns"] == ["name", "score", "n"]
    assert rows["pandas"]["data"][0] == ["a", 0.5, 1]
    assert rows["pandas"]["data"][1][0:1] == ["b"] and np.isnan(rows["pandas"]["data"][1][1])
    assert rows["polars"] == {"columns": ["k", "v"], "data": [["p", 3]]}
    assert rows["records"] == {"columns": ["a", "b"], "data": [[1, None], [2, True]]}
    cell = rows["images"]["data"][0][1]
    assert (rows["images"]["data"][0][0], cell["_type"], cell["caption"]) == (7, "image", "cell")
    assert np.array_equal(_pixels(cell["path"]), RGB)


def test_histogram_counts_are_exact(data_dir):
    values = np.random.default_rng(0).normal(size=1000)
    counts, edges = np.histogram(values, bins=10)
    with tnb.init("hist") as run:
        run.log({"h": tnb.Histogram(values, num_bins=10), "given": tnb.Histogram(np_histogram=(counts, edges))})
        run.log({"h": tnb.Histogram([1.0, float("nan"), 2.0, float("inf"), 2.0], num_bins=2)})
        rows = _logged("hist", run)
    assert rows[0]["value"] == {"bins": edges.tolist(), "values": counts.tolist()}
    assert rows[1]["value"] == rows[0]["value"]
    assert rows[2]["value"] == {"bins": [1.0, 1.5, 2.0], "values": [1, 2]}  # non-finite values dropped


def test_text_trace_audio_and_video(data_dir, capsys):
    tone = np.sin(np.linspace(0, 20, 800)).astype(np.float32)
    frames = np.zeros((3, 3, 4, 5), dtype=np.uint8)
    frames[1] = 255
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello", "tokens": np.int64(2)}]
    with tnb.init("kinds") as run:
        run.log(
            {
                "notes": tnb.Markdown("# Title\n*x*"),
                "page": tnb.Html("<p>hi</p><script>alert(1)</script>", caption="raw"),
                "chat": tnb.Trace(messages, metadata={"model": "m"}),
                "sound": tnb.Audio(tone, sample_rate=8000, caption="tone"),
                "clip": tnb.Video(frames, fps=4),
                "mp4": tnb.Video(frames, format="mp4"),
            }
        )
        rows = {r["key"]: r for r in _logged("kinds", run)}
    assert rows["notes"]["value"] == "# Title\n*x*"
    assert (rows["page"]["value"], rows["page"]["caption"]) == ("<p>hi</p><script>alert(1)</script>", "raw")
    assert rows["chat"]["value"] == {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello", "tokens": 2}],
        "metadata": {"model": "m"},
    }
    with wave.open(rows["sound"]["path"]) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (8000, 1, 800)
        samples = np.frombuffer(wav.readframes(800), dtype="<i2")
    assert np.array_equal(samples, np.round(tone * 32767).astype(np.int16))
    with PILImage.open(rows["clip"]["path"]) as gif:
        assert (gif.format, gif.n_frames, gif.size) == ("GIF", 3, (5, 4))
    assert rows["mp4"]["path"].endswith(".npy")
    assert np.array_equal(np.load(rows["mp4"]["path"]), frames)
    assert "Video frames are stored as given (.npy)" in capsys.readouterr().err


def test_bad_media_is_refused_at_the_call_and_stores_nothing_of_it(data_dir):
    with tnb.init("bad") as run:
        with pytest.raises(InvalidValue, match="Image arrays must be HxW"):
            tnb.Image(np.zeros((2, 2, 2), dtype=np.uint8))
        with pytest.raises(InvalidValue, match="between 0 and 1"):
            tnb.Image(np.array([[1.5]]))
        with pytest.raises(InvalidValue, match="file not found"):
            tnb.Image("/nonexistent/x.png")
        with pytest.raises(InvalidValue, match="sample_rate"):
            tnb.Audio(np.zeros(4))
        with pytest.raises(InvalidValue, match="cannot log Table for 'tab': row 0 column 'x': cannot store a object"):
            run.log({"loss": 1.0, "tab": tnb.Table(columns=["x"], data=[[object()]])})
        run.log({"loss": 2.0, "ok": tnb.Markdown("fine")})
        run.flush()
        view = tnb.Api().run("bad", run.id)
        assert view.history()["loss"].to_list() == [2.0]
        assert [(r["step"], r["key"]) for r in view.media()] == [(0, "ok")]


def test_missing_pillow_names_the_media_extra(data_dir, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    with tnb.init("nopil") as run, pytest.raises(MissingExtra, match=r"\[media\] extra"):
        run.log({"x": tnb.Image(RGB)})


def test_resumed_run_continues_after_media_only_steps(data_dir):
    with tnb.init("resume", "r") as run:
        run.log({"loss": 1.0})
        run.log({"text": tnb.Markdown("a")}, step=5)
    with tnb.init("resume", "r", resume="allow") as again:
        again.log({"loss": 0.5})
        assert again._last_step == 6


def test_v3_database_gains_the_media_table_and_keeps_its_data(data_dir):
    from trackio_nb.storage.schema import MIGRATIONS, SCHEMA_VERSION

    data_dir.mkdir(parents=True)
    path = project_path("legacy-v3")
    conn = sqlite3.connect(path, isolation_level=None)
    for number in (1, 2, 3):
        MIGRATIONS[number - 1](conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO meta VALUES ('project', 'legacy-v3')")
    conn.execute(
        "INSERT INTO runs (key, id, name, status, config, created_at, finished_at) "
        "VALUES (1, 'abcabcabcabc', 'old', 'finished', '{\"lr\": 0.1}', 1000.0, 1005.0)"
    )
    conn.execute("INSERT INTO applied_batches VALUES ('b-1', 1.0)")
    conn.execute("INSERT INTO metric_names VALUES (1, 'note')")
    conn.execute(
        "INSERT INTO text_values (run_key, metric_key, step, timestamp, value) VALUES (1, 1, 4, 1001.0, '\"x\"')"
    )
    conn.close()
    view = tnb.Api().run("legacy-v3", "old")
    assert (view.config, view.media()) == ({"lr": 0.1}, [])
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    assert check.execute("SELECT id FROM applied_batches").fetchall() == [("b-1",)]
    assert check.execute("SELECT step, value FROM text_values").fetchall() == [(4, '"x"')]
    with tnb.init("legacy-v3", "old", resume="allow") as run:
        run.log({"md": tnb.Markdown("new")})
        assert run._last_step == 5
    assert [(r["step"], r["value"]) for r in tnb.Api().run("legacy-v3", "old").media()] == [(5, "new")]
    assert json.loads(check.execute("SELECT value FROM media").fetchone()[0]) == "new"


def test_deleting_runs_and_the_project_takes_their_files(data_dir):
    other = np.zeros((2, 2), dtype=np.uint8)
    with tnb.init("gone", "a") as a:
        a.log({"shared": tnb.Image(RGB), "own": tnb.Image(other), "t": tnb.Table(data=[[tnb.Image(other.T.copy())]])})
    with tnb.init("gone", "b") as b:
        b.log({"shared": tnb.Image(RGB)})
    folder = media_dir(project_path("gone"))

    def files() -> int:
        return sum(p.is_file() for p in folder.rglob("*"))

    assert files() == 2  # RGB once for both runs; `other` and its transpose are the same 2x2 zeros
    tnb.Api().delete_run("gone", "a")
    assert files() == 1 and np.array_equal(_pixels(tnb.Api().run("gone", "b").media()[0]["path"]), RGB)
    tnb.Api().delete_run("gone", "b")
    assert files() == 0
    with tnb.init("gone", "c") as c:
        c.log({"x": tnb.Image(RGB)})
    tnb.Api().delete_project("gone")
    assert not folder.exists() and not project_path("gone").exists()


def test_audio_and_video_files_are_stored_as_given(data_dir, tmp_path):
    sound, clip = tmp_path / "a.WAV", tmp_path / "clip.mp4"
    with wave.open(str(sound), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(100)
        wav.writeframes(np.arange(10, dtype="<i2").tobytes())
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 not a real movie")
    with tnb.init("files") as run:
        run.log({"sound": tnb.Audio(str(sound)), "clip": tnb.Video(clip, fps=12)})
        with pytest.raises(InvalidValue, match=r"video files must be one of mp4, webm, gif, ogg, mov; got 'a\.WAV'"):
            tnb.Video(sound)
        rows = {r["key"]: r for r in _logged("files", run)}
    assert rows["sound"]["path"].endswith(".wav") and rows["clip"]["path"].endswith(".mp4")
    with open(rows["sound"]["path"], "rb") as a, open(rows["clip"]["path"], "rb") as v:
        assert (a.read(), v.read()) == (sound.read_bytes(), clip.read_bytes())
