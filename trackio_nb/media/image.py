"""`tnb.Image`: a NumPy array (HW or HWC, uint8 or float 0–1), a PIL image, or an image file."""

from __future__ import annotations

import io

from ..errors import InvalidValue
from .base import (
    Encoded,
    Media,
    add_blob,
    add_file,
    as_array,
    check_caption,
    existing_file,
    file_ext,
    is_pil,
    pil_image,
)

IMAGE_EXTS = ("png", "jpg", "gif", "webp", "bmp", "svg")


class Image(Media):
    """An image logged as a PNG (arrays, PIL images) or as the file given (a path)."""

    KIND = "image"

    def __init__(self, value: object, caption: str | None = None) -> None:
        self.caption = check_caption(caption)
        self._path = existing_file(value)
        self._array = None
        self._pil = None
        if self._path is not None:
            file_ext(self._path, IMAGE_EXTS, "image")
        elif is_pil(value):
            self._pil = value
        else:
            array = as_array(value)
            if array is None:
                raise InvalidValue(f"Image takes a NumPy array, a PIL image or a file path, got {type(value).__name__}")
            self._array = to_uint8(array)

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        if self._path is not None:
            name, data = add_file(blobs, self._path, IMAGE_EXTS, "image")
            return Encoded(None, name, _size_of(data))
        png, width, height = encode_png(self._array if self._pil is None else self._pil)
        return Encoded(None, add_blob(blobs, png, "png"), {"width": width, "height": height})


def to_uint8(array):
    """An HW/HWC array as uint8 (floats must lie in 0–1); InvalidValue for other shapes or ranges."""
    import numpy as np

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidValue(f"Image arrays must be HxW or HxWxC with C in 1, 3, 4; got shape {tuple(array.shape)}")
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
            raise InvalidValue("float Image arrays must hold values between 0 and 1 (no NaN)")
        return np.round(array * 255.0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise InvalidValue("integer Image arrays must hold values between 0 and 255")
        return array.astype(np.uint8)
    raise InvalidValue(f"Image arrays must be uint8 or float, got dtype {array.dtype}")


def encode_png(source) -> tuple[bytes, int, int]:
    """PNG bytes, width and height of a uint8 array or a PIL image (needs Pillow: the [media] extra)."""
    PILImage = pil_image("tnb.Image from an array or PIL image")
    if isinstance(source, PILImage.Image):
        image = source if source.mode in ("L", "RGB", "RGBA", "LA", "P", "1", "I;16") else source.convert("RGBA")
    else:
        image = PILImage.fromarray(source)  # uint8 HW -> L, HWx3 -> RGB, HWx4 -> RGBA
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue(), image.width, image.height


def _size_of(data: bytes) -> dict | None:
    """Width and height of an image file when Pillow can read it (else no size is stored)."""
    try:
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError
    except ImportError:
        return None
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            return {"width": image.width, "height": image.height}
    except (UnidentifiedImageError, OSError):  # SVG and other formats Pillow does not read
        return None


__all__ = ["IMAGE_EXTS", "Image", "encode_png", "to_uint8"]
