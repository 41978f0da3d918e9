"""`tnb.Video`: frames (T×C×H×W uint8) encoded as an animated GIF with Pillow, or a video file as given.

An mp4/webm `format` for frames needs a video encoder, which trackio_nb does not ship: the
frames are then stored as given (a NumPy .npy file) and a notice says so once; the panel
lists such a video without playing it.
"""

from __future__ import annotations

import io
import sys

from ..errors import InvalidValue
from .base import Encoded, Media, add_blob, add_file, as_array, check_caption, existing_file, file_ext, pil_image

VIDEO_EXTS = ("mp4", "webm", "gif", "ogg", "mov")
_NOTICE = {"shown": False}


class Video(Media):
    """`fps` defaults to 24; frames may also be B×T×C×H×W (the batches are played one after another)."""

    KIND = "video"

    def __init__(
        self, value: object, caption: str | None = None, fps: int | None = None, format: str | None = None
    ) -> None:
        self.caption = check_caption(caption)
        self._path = existing_file(value)
        self.fps = fps
        self.format = format
        if self._path is not None:
            file_ext(self._path, VIDEO_EXTS, "video")
            return
        array = as_array(value)
        if array is None:
            raise InvalidValue(f"Video takes a NumPy array or a file path, got {type(value).__name__}")
        if array.ndim == 5:
            array = array.reshape(-1, *array.shape[2:])
        if array.ndim != 4 or array.shape[1] not in (1, 3, 4) or array.dtype.name != "uint8":
            raise InvalidValue(f"Video arrays must be uint8 T×C×H×W with C in 1, 3, 4; got {array.dtype} {array.shape}")
        if format not in (None, "gif", "mp4", "webm"):
            raise InvalidValue(f"Video format must be gif, mp4 or webm, got {format!r}")
        if fps is None:
            self.fps = 24
        elif isinstance(fps, bool) or not isinstance(fps, (int, float)) or fps <= 0:
            raise InvalidValue(f"fps must be a positive number, got {fps!r}")
        self.format = format or "gif"
        self._frames = array

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        if self._path is not None:
            return Encoded(None, add_file(blobs, self._path, VIDEO_EXTS, "video")[0], {"fps": self.fps})
        frames = self._frames.transpose(0, 2, 3, 1)  # T×H×W×C
        if frames.shape[3] == 1:
            frames = frames[:, :, :, 0]
        meta = {"fps": self.fps, "frames": int(frames.shape[0]), "height": frames.shape[1], "width": frames.shape[2]}
        if self.format == "gif":
            return Encoded(None, add_blob(blobs, _gif(frames, self.fps), "gif"), meta)
        _say_not_encoded(self.format)
        out = io.BytesIO()
        import numpy as np

        np.save(out, self._frames, allow_pickle=False)
        return Encoded(None, add_blob(blobs, out.getvalue(), "npy"), {**meta, "encoded": False})


def _gif(frames, fps: float) -> bytes:
    PILImage = pil_image("tnb.Video from frames")
    images = [PILImage.fromarray(frame) for frame in frames]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=1000.0 / fps, loop=0)
    return out.getvalue()


def _say_not_encoded(fmt: str) -> None:
    if not _NOTICE["shown"]:
        _NOTICE["shown"] = True
        print(
            f"trackio_nb: no {fmt} encoder here: Video frames are stored as given (.npy),"
            " listed but not playable in the panel; use format='gif' to play them",
            file=sys.stderr,
        )
