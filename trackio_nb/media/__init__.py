"""Media to log next to numbers: `log({"samples": tnb.Image(array)})`.

The constructors are trackio 0.43's, so code written for trackio passes its objects
straight through. Each class encodes itself in the caller's thread when logged (PNG, WAV,
JSON); the background writer stores the files, content-addressed, beside the project
database. Importing this package loads neither NumPy nor Pillow.
"""

from __future__ import annotations

from ..storage.media_files import MEDIA_KINDS as KINDS
from .audio import Audio
from .base import Media
from .histogram import Histogram
from .image import Image
from .table import Table
from .text import Html, Markdown
from .trace import Trace
from .video import Video

__all__ = ["KINDS", "Audio", "Histogram", "Html", "Image", "Markdown", "Media", "Table", "Trace", "Video"]
