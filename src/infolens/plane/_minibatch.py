"""The row-weighted mean of a ``"minibatch"`` plane estimator over consecutive minibatches.

Shared by the whole-layer path (:meth:`infolens.plane.estimate.LayerEstimator.measure`) and the
streaming recorder (:mod:`infolens.plane.stream`), so both cut the same minibatches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from infolens.plane.estimate import LayerEstimator


class MinibatchMean:
    """A ``"minibatch"`` estimator's quantities: the row-weighted mean over minibatches.

    The n samples, in their order, are cut into ``ceil(n / minibatch)`` consecutive minibatches of
    near-equal size (those of :func:`numpy.array_split`), ``minibatch`` being the estimator's
    setting of that name (one minibatch of all n rows without it). ``information`` of the table
    entry is evaluated on each minibatch (its rows, labels and inputs) as soon as its rows have
    arrived through :meth:`add`. Every value the entry returns is averaged so, the shuffled-label
    baseline of I(T;Y) (:data:`infolens.plane.flags.SHUFFLED_KEY`) included.
    """

    def __init__(self, one: LayerEstimator, y: np.ndarray, n_classes: int, x: np.ndarray | None,
                 quantities: tuple[str, ...]) -> None:
        self.one, self.y, self.n_classes, self.x, self.quantities = one, y, n_classes, x, quantities
        n = len(y)
        size = one.params.get("minibatch") or n
        sizes = [len(part) for part in np.array_split(np.arange(n), -(-n // size))]
        self._bounds = np.cumsum([0, *sizes])
        self._next = 0  # index of the next minibatch to evaluate
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self._sums = dict.fromkeys(quantities, 0.0)

    def add(self, t: np.ndarray) -> None:
        """Append the next rows of the layer (float64) and evaluate every completed minibatch."""
        self._buffer.append(t)
        self._buffered += len(t)
        start = int(self._bounds[self._next])
        while self._next + 1 < len(self._bounds) and start + self._buffered >= self._bounds[self._next + 1]:
            stop = int(self._bounds[self._next + 1])
            rows = np.concatenate(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
            batch, rest = rows[:stop - start], rows[stop - start:]
            x = None if self.x is None else self.x[start:stop]
            values = self.one.spec.information(batch, self.y[start:stop], self.n_classes, x,
                                               self.one.params, self.quantities)
            for key, value in values.items():  # the quantities, and any baseline the entry returns
                self._sums[key] = self._sums.get(key, 0.0) + float(value) * (stop - start)
            self._buffer, self._buffered = ([rest], len(rest)) if len(rest) else ([], 0)
            self._next += 1
            start = stop

    def values(self) -> dict[str, float]:
        """The weighted means (nats), once every row has been added."""
        assert self._next == len(self._bounds) - 1, "rows missing"
        return {q: total / len(self.y) for q, total in self._sums.items()}


__all__ = ["MinibatchMean"]
