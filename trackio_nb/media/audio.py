"""`tnb.Audio`: a waveform array (with `sample_rate`) stored as 16-bit WAV, or an audio file as given."""

from __future__ import annotations

import io
import wave

from ..errors import InvalidValue
from .base import Encoded, Media, add_blob, add_file, as_array, check_caption, existing_file, file_ext

AUDIO_EXTS = ("wav", "mp3", "ogg", "flac", "m4a", "webm")


class Audio(Media):
    """Arrays are (samples,) or (samples, channels): floats in -1…1 or int16; files are kept as they are."""

    KIND = "audio"

    def __init__(
        self, value: object, caption: str | None = None, sample_rate: int | None = None, format: str | None = None
    ) -> None:
        self.caption = check_caption(caption)
        self._path = existing_file(value)
        if self._path is not None:
            file_ext(self._path, AUDIO_EXTS, "audio")
            self._pcm = None
            self.sample_rate = sample_rate
            return
        array = as_array(value)
        if array is None:
            raise InvalidValue(f"Audio takes a NumPy array or a file path, got {type(value).__name__}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise InvalidValue(f"Audio from an array needs sample_rate as a positive integer, got {sample_rate!r}")
        if format not in (None, "wav"):
            raise InvalidValue(f"Audio arrays are stored as wav here; format={format!r} needs an encoder")
        self._pcm = to_pcm16(array)
        self.sample_rate = sample_rate

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        if self._path is not None:
            return Encoded(None, add_file(blobs, self._path, AUDIO_EXTS, "audio")[0], None)
        channels = 1 if self._pcm.ndim == 1 else self._pcm.shape[1]
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(channels)
            wav.setsampwidth(2)
            wav.setframerate(self.sample_rate)
            wav.writeframes(self._pcm.astype("<i2").tobytes())
        meta = {"sample_rate": self.sample_rate, "channels": channels, "samples": int(self._pcm.shape[0])}
        return Encoded(None, add_blob(blobs, out.getvalue(), "wav"), meta)


def to_pcm16(array):
    """(samples,) or (samples, channels) as int16: floats in -1…1 scaled, ints within int16 kept."""
    import numpy as np

    if array.ndim not in (1, 2) or array.size == 0:
        raise InvalidValue(f"Audio arrays must be (samples,) or (samples, channels); got shape {tuple(array.shape)}")
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise InvalidValue("Audio arrays must not hold NaN or infinity")
        return np.round(np.clip(array, -1.0, 1.0) * 32767.0).astype(np.int16)
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < -32768 or array.max() > 32767:
            raise InvalidValue("integer Audio arrays must fit in int16")
        return array.astype(np.int16)
    raise InvalidValue(f"Audio arrays must be float or integer, got dtype {array.dtype}")
