"""The row-weighted mean of a ``"minibatch"`` plane estimator over consecutive minibatches.

Shared by the whole-layer path (:meth:`infolens.plane.estimate.LayerEstimator.measure`), the
streaming recorder (:mod:`infolens.plane.stream`) and the ranks of a distributed one
(:mod:`infolens.plane.distributed`), so all of them cut the same minibatches and sum their values
in the same order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from infolens.plane.distributed import Shards
    from infolens.plane.estimate import LayerEstimator


class MinibatchMean:
    """A ``"minibatch"`` estimator's quantities: the row-weighted mean over minibatches.

    The n samples, in their order, are cut into ``ceil(n / minibatch)`` consecutive minibatches of
    near-equal size (those of :func:`numpy.array_split`), ``minibatch`` being the estimator's
    setting of that name (one minibatch of all n rows without it). ``information`` of the table
    entry is evaluated on each minibatch (its rows, labels and inputs) as soon as its rows have
    arrived through :meth:`add`. Every value the entry returns is averaged so, the shuffled-label
    baseline of I(T;Y) (:data:`infolens.plane.flags.SHUFFLED_KEY`) included.

    With ``span = (lo, hi)`` only rows ``lo .. hi - 1`` arrive here (one rank's shard; ``y`` and
    ``x`` still hold every row): the minibatches inside the span are evaluated here, and the rows of
    those that straddle its ends are kept as fragments, joined across ranks by :meth:`values`.
    """

    def __init__(self, one: LayerEstimator, y: np.ndarray, n_classes: int, x: np.ndarray | None,
                 quantities: tuple[str, ...], span: tuple[int, int] | None = None) -> None:
        self.one, self.y, self.n_classes, self.x, self.quantities = one, y, n_classes, x, quantities
        n = len(y)
        size = one.params.get("minibatch") or n
        sizes = [len(part) for part in np.array_split(np.arange(n), -(-n // size))]
        self._bounds = np.cumsum([0, *sizes])
        self._first, self._end = span if span is not None else (0, n)
        self._start = self._first  # sample index of the first buffered row
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._values: dict[int, dict[str, float]] = {}  # minibatch index -> nats
        self._fragments: list[tuple[int, int, np.ndarray]] = []  # (minibatch, first row, rows)

    def add(self, t: np.ndarray) -> None:
        """Append the next rows of the layer (float64) and evaluate every completed minibatch."""
        self._buffer.append(t)
        self._buffered += len(t)
        while self._buffered:
            index = int(np.searchsorted(self._bounds, self._start, side="right")) - 1
            stop = int(self._bounds[index + 1])
            if self._start + self._buffered < stop:
                return
            rows = np.concatenate(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
            batch, rest = rows[:stop - self._start], rows[stop - self._start:]
            if self._start == self._bounds[index]:
                self._values[index] = self._evaluate(index, batch)
            else:  # the minibatch began on a lower rank
                self._fragments.append((index, self._start, batch))
            self._buffer, self._buffered = ([rest], len(rest)) if len(rest) else ([], 0)
            self._start = stop

    def _evaluate(self, index: int, batch: np.ndarray) -> dict[str, float]:
        start, stop = int(self._bounds[index]), int(self._bounds[index + 1])
        x = None if self.x is None else self.x[start:stop]
        values = self.one.spec.information(batch, self.y[start:stop], self.n_classes, x, self.one.params,
                                           self.quantities)
        return {key: float(value) for key, value in values.items()}  # with any baseline the entry returns

    def values(self, shards: Shards | None = None) -> dict[str, float]:
        """The weighted means (nats), once every row of the span has been added; with ``shards``
        of several ranks, over the minibatches of every rank (a collective call)."""
        assert self._start + self._buffered == self._end, "rows missing"
        fragments = list(self._fragments)
        if self._buffered:  # the minibatch goes on on a higher rank
            index = int(np.searchsorted(self._bounds, self._start, side="right")) - 1
            fragments.append((index, self._start, np.concatenate(self._buffer)))
        values = dict(self._values)
        if shards is not None and shards.spread:
            pieces: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
            for done, parts in shards.objects((values, fragments), "the minibatches of matrix estimators"):
                values.update(done)
                for index, first, rows in parts:
                    pieces[index].append((first, rows))
            for index, parts in sorted(pieces.items()):
                rows = np.concatenate([r for _, r in sorted(parts, key=_first)])
                values[index] = self._evaluate(index, rows)
        assert len(values) == len(self._bounds) - 1, "minibatches missing"
        sizes = np.diff(self._bounds)
        out = {}
        for q in values[0]:
            total = 0.0
            for index, size in enumerate(sizes):
                total += values[index][q] * int(size)
            out[q] = total / len(self.y)
        return out


def _first(part: tuple[int, np.ndarray]) -> int:
    return part[0]


__all__ = ["MinibatchMean"]
