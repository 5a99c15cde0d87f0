"""The mean of a ``"minibatch"`` plane estimator over its minibatches.

Shared by the whole-layer path (:meth:`infolens.plane.estimate.LayerEstimator.measure`), the
streaming recorder (:mod:`infolens.plane.stream`) and the ranks of a distributed one
(:mod:`infolens.plane.distributed`), so all of them cut the same minibatches and sum their values
in the same order.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from infolens.plane.distributed import Shards
    from infolens.plane.estimate import LayerEstimator


def minibatches(one: LayerEstimator, n: int) -> list[np.ndarray]:
    """The minibatches of a ``"minibatch"`` estimator on ``n`` samples: arrays of sample indices,
    each in the order its rows are read (its entry's ``minibatches``; one of all n rows without)."""
    cut = one.spec.minibatches
    if cut is None:
        return [np.arange(n)]
    return [np.asarray(rows, dtype=np.int64) for rows in cut(n, one.params)]


def reading_order(ones: list[LayerEstimator], n: int) -> np.ndarray | None:
    """The order of samples in which every minibatch of ``ones`` arrives whole before the next
    starts (their minibatches, concatenated), when they share one cut of several minibatches;
    None when the sample order serves (no such estimator) or no one order does (two cuts)."""
    cuts = {tuple(map(tuple, minibatches(one, n))) for one in ones}
    if len(cuts) != 1:
        return None
    (cut,) = cuts
    return np.concatenate([np.asarray(rows, dtype=np.int64) for rows in cut]) if len(cut) > 1 else None


class SharedInputs:
    """The inputs ``x`` (every sample's vector, or None) of the minibatches, as each ``"minibatch"``
    estimator reads them (its entry's ``prepare_inputs``: matrix Renyi's Gram matrix of X),
    computed once for all the layers of a recording that evaluate the same minibatch.

    The streaming recorder evaluates minibatch j of every layer within one batch of the model,
    so it keeps only the last ``keep`` prepared minibatches (bounded memory); the whole-layer path
    reads the layers one after another and keeps all (``keep=None``; a 200 x 200 float64 Gram
    matrix, 320 KB, per minibatch of matrix Renyi).
    """

    def __init__(self, x: np.ndarray | None, keep: int | None = 8) -> None:
        self.x, self.keep = x, keep
        self._prepared: OrderedDict[tuple[str, int], object] = OrderedDict()

    def get(self, one: LayerEstimator, index: int, samples: np.ndarray) -> object:
        """The inputs of minibatch ``index`` (sample indices ``samples``) for the estimator ``one``."""
        prepare = one.spec.prepare_inputs
        if self.x is None or prepare is None:
            return None if self.x is None else self.x[samples]
        key = (one.name + repr(sorted(one.params.items())), index)
        if key not in self._prepared:
            self._prepared[key] = prepare(self.x[samples], one.params)
            while self.keep is not None and len(self._prepared) > self.keep:
                self._prepared.popitem(last=False)
        return self._prepared[key]


class MinibatchMean:
    """A ``"minibatch"`` estimator's quantities: the mean of its values over its minibatches.

    The minibatches are sets of sample indices (:func:`minibatches`; matrix Renyi: a seeded
    permutation cut into batches of ``batch_size``). ``information`` of the table entry is
    evaluated on each minibatch (its rows, labels and inputs, in the minibatch's order) as soon as
    all its rows have arrived through :meth:`add`, in any order; the rows of a minibatch wait
    until then, in the layer's dtype. Every value the entry returns is averaged, the
    shuffled-label baseline of I(T;Y) (:data:`infolens.plane.flags.SHUFFLED_KEY`) included, with
    equal weights: the mean over batches of Wickstrom et al. 2019 and of
    :func:`infolens.matrix_renyi_mi`.

    ``inputs``: the :class:`SharedInputs` of the recording (default: of ``x``, for this layer alone).

    With ``span = (lo, hi)`` only samples ``lo .. hi - 1`` arrive here (one rank's shard; ``y``
    and ``x`` still hold every row): the minibatches inside the span are evaluated here, and the
    rows of those with samples on other ranks are kept as fragments, sent by :meth:`values` to
    the rank that evaluates them (``index % world``).
    """

    def __init__(self, one: LayerEstimator, y: np.ndarray, n_classes: int, x: np.ndarray | None,
                 quantities: tuple[str, ...], span: tuple[int, int] | None = None,
                 inputs: SharedInputs | None = None) -> None:
        self.one, self.y, self.n_classes, self.quantities = one, y, n_classes, quantities
        self.inputs = inputs if inputs is not None else SharedInputs(x)
        n = len(y)
        self._groups = minibatches(one, n)
        self._group_of = np.empty(n, dtype=np.int64)
        self._position = np.empty(n, dtype=np.int64)  # of each sample in its minibatch
        for index, rows in enumerate(self._groups):
            self._group_of[rows] = index
            self._position[rows] = np.arange(len(rows))
        lo, hi = span if span is not None else (0, n)
        self._expected = np.bincount(self._group_of[lo:hi], minlength=len(self._groups))
        self._pending: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        self._arrived = np.zeros(len(self._groups), dtype=np.int64)
        self._values: dict[int, dict[str, float]] = {}  # minibatch index -> nats
        self._fragments: list[tuple[int, np.ndarray, np.ndarray]] = []  # (minibatch, positions, rows)

    def add(self, t: np.ndarray, samples: np.ndarray) -> None:
        """Add the rows ``t`` of the samples ``samples`` and evaluate every completed minibatch."""
        groups = self._group_of[samples]
        for index in np.unique(groups):
            mine = groups == index
            self._pending[int(index)].append((self._position[samples[mine]], t[mine]))
            self._arrived[index] += int(mine.sum())
            if self._arrived[index] == self._expected[index]:
                positions, rows = self._join(self._pending.pop(int(index)))
                if len(rows) == len(self._groups[index]):
                    self._values[int(index)] = self._evaluate(int(index), rows)
                else:  # the rest of the minibatch is on other ranks
                    self._fragments.append((int(index), positions, rows))

    @staticmethod
    def _join(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """The positions and rows of ``parts``, the rows in the order of their positions."""
        positions = np.concatenate([p for p, _ in parts]) if len(parts) > 1 else parts[0][0]
        rows = np.concatenate([r for _, r in parts]) if len(parts) > 1 else parts[0][1]
        if (np.diff(positions) > 0).all():  # streamed in the minibatch's order: no copy
            return positions, rows
        order = np.argsort(positions, kind="stable")
        return positions[order], rows[order]

    def _evaluate(self, index: int, batch: np.ndarray) -> dict[str, float]:
        samples = self._groups[index]
        x = self.inputs.get(self.one, index, samples)
        values = self.one.spec.information(batch, self.y[samples], self.n_classes, x, self.one.params,
                                           self.quantities)
        return {key: float(value) for key, value in values.items()}  # with any baseline the entry returns

    def values(self, shards: Shards | None = None) -> dict[str, float]:
        """The means (nats), once every row of the span has been added; with ``shards`` of
        several ranks, over the minibatches of every rank (a collective call)."""
        assert not self._pending and (self._arrived == self._expected).all(), "rows missing"
        values = dict(self._values)
        if shards is not None and shards.spread:  # rank (index % world) evaluates minibatch index
            outgoing: list[list[tuple[int, np.ndarray, np.ndarray]]] = [[] for _ in range(shards.world)]
            for fragment in self._fragments:
                outgoing[fragment[0] % shards.world].append(fragment)
            pieces: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
            for parts in shards.deliver(outgoing, "the rows of the minibatches of matrix estimators"):
                for index, positions, rows in parts:
                    pieces[index].append((positions, rows))
            self._fragments.clear()
            for index, parts in sorted(pieces.items()):
                values[index] = self._evaluate(index, self._join(parts)[1])
            del pieces
            for done in shards.objects(values, "the minibatch values of matrix estimators"):
                values.update(done)
        assert len(values) == len(self._groups), "minibatches missing"
        out = {}
        for q in values[0]:
            total = 0.0
            for index in range(len(self._groups)):
                total += values[index][q]
            out[q] = total / len(self._groups)
        return out


__all__ = ["MinibatchMean", "SharedInputs", "minibatches", "reading_order"]
