"""`tnb.Histogram`: counts over bins, from values or from `np.histogram`'s (counts, edges)."""

from __future__ import annotations

from ..errors import InvalidValue
from .base import Encoded, Media, numpy

MAX_BINS = 512


class Histogram(Media):
    """Stored inline as {"bins": edges (n+1), "values": counts (n)}; non-finite values are dropped."""

    KIND = "histogram"

    def __init__(self, sequence: object = None, np_histogram: tuple | None = None, num_bins: int = 64) -> None:
        np = numpy()
        if (sequence is None) == (np_histogram is None):
            raise InvalidValue("Histogram takes either a sequence of values or np_histogram=(counts, edges)")
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 1:
            raise InvalidValue(f"num_bins must be a positive integer, got {num_bins!r}")
        if np_histogram is not None:
            if not isinstance(np_histogram, (tuple, list)) or len(np_histogram) != 2:
                raise InvalidValue("np_histogram must be (counts, bin_edges), as numpy.histogram returns")
            counts, edges = (np.asarray(part).ravel() for part in np_histogram)
            if len(edges) != len(counts) + 1:
                raise InvalidValue(f"np_histogram has {len(counts)} counts but {len(edges)} edges (need counts + 1)")
        else:
            data = np.asarray(sequence, dtype=float).ravel()
            data = data[np.isfinite(data)]
            if data.size == 0:
                counts, edges = np.array([], dtype=np.int64), np.array([], dtype=float)
            else:
                counts, edges = np.histogram(data, bins=min(num_bins, MAX_BINS))
        self.histogram = counts
        self.bins = edges

    def _encode(self, blobs: dict[str, bytes]) -> Encoded:
        return Encoded({"bins": self.bins.tolist(), "values": self.histogram.tolist()}, None, None)
