"""Streaming records: estimate a layer batch by batch, without holding the whole layer.

:meth:`InformationPlane.record <infolens.plane.InformationPlane.record>` with a ``batch_size``
runs the model over the recording inputs one batch at a time and feeds every recorded layer to
the state its estimators need (:mod:`infolens.plane.estimators`, ``consumes``):

* count-based estimators with a quantizer of their own (``levels``: ``binning``, ``quantized``,
  ``plugin``) keep one 16-byte key per sample, the BLAKE2b digest of the sample's quantized row
  (:func:`row_keys`), and count keys at the end (:class:`CodeStream`, :func:`codes_of_keys`).
  Binning over the layer's own range (no ``range`` given) needs the layer's min and max before
  the first bin: the model then runs twice, a first pass for the range and a second to quantize
  (:func:`value_ranges`).
  Two samples share a key exactly when their quantized rows are equal, except for a BLAKE2b
  collision (probability below n^2 / 2^129, 1e-29 for a million samples), so the numbers are
  those of binning the whole layer (the entropies agree to rounding: the same counts, summed in
  another order).
* ``"sample"`` estimators (KSG, KDE, v-information) read the rows of a seeded subsample
  (``subsample=`` of the plane), or every row, kept in the layer's dtype (float32) until the
  estimator converts them to float64 (:class:`SampleRows`).
* ``"minibatch"`` estimators are evaluated on each of their minibatches as soon as its rows have
  arrived, and averaged (:class:`MinibatchMean`; the same minibatches as for a whole layer). The
  recorder runs the model over the samples in the order of those minibatches
  (:func:`~infolens.plane._minibatch.reading_order`: matrix Renyi's seeded batches one after
  another), so the rows of one minibatch wait at a time, in the layer's dtype.
* estimators with neither (``adaptive_binning``: quantile edges of the whole layer) are given the
  whole layer, gathered in its dtype.

Peak memory is then one batch of activations (and its quantized copy) plus O(n) keys per layer,
besides the inputs themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from infolens.plane._minibatch import MinibatchMean, SharedInputs
from infolens.plane.distributed import Shards
from infolens.plane.estimate import LayerEstimator, grouped, measure_group

#: Bytes of a row key (BLAKE2b digest size).
KEY_BYTES = 16
#: Activations quantized at a time (rows of a batch, in groups of about this many values): the
#: quantizer's temporaries stay a few MB, reused by the allocator instead of fresh pages.
CHUNK_VALUES = 2**20


def row_keys(levels: np.ndarray) -> np.ndarray:
    """One :data:`KEY_BYTES`-byte BLAKE2b digest per row of ``levels`` (n, d), as a ``(n, KEY_BYTES)``
    uint8 array: equal rows, equal keys.

    Integer rows are hashed in the narrowest type that holds them, chosen per row (uint8, uint16,
    else int64), so a row has the same key in every batch; floating rows as they are.
    """
    keys = np.empty((len(levels), KEY_BYTES), dtype=np.uint8)
    if np.issubdtype(levels.dtype, np.integer) and levels.size:
        low, high = levels.min(axis=1), levels.max(axis=1)
        done = np.zeros(len(levels), dtype=bool)
        for dtype in (np.uint8, np.uint16, np.int64):
            info = np.iinfo(dtype)
            fits = ~done & (low >= info.min) & (high <= info.max)
            if fits.all():
                return _digests(levels.astype(dtype))
            if fits.any():
                keys[fits] = _digests(levels[fits].astype(dtype))
                done |= fits
        return keys
    return _digests(levels)


def _digests(rows: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(rows)
    joined = b"".join(hashlib.blake2b(row, digest_size=KEY_BYTES).digest() for row in rows)
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(rows), KEY_BYTES)


def codes_of_keys(keys: np.ndarray) -> np.ndarray:
    """Dense int64 symbols 0..K-1 of the rows of ``keys`` (n, :data:`KEY_BYTES`) uint8, numbered in
    order of first occurrence: equal keys, equal symbols."""
    flat = np.ascontiguousarray(keys).view(f"V{KEY_BYTES}").ravel()
    _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]


class CodeStream:
    """The symbols of a count-based estimator on ``size`` samples, one batch of quantized rows at
    a time: one :data:`KEY_BYTES`-byte key per sample, nothing else."""

    def __init__(self, size: int) -> None:
        self._keys = np.zeros((size, KEY_BYTES), dtype=np.uint8)
        self._filled = 0

    def add(self, levels: np.ndarray, where: np.ndarray) -> None:
        """Put the keys of the rows of ``levels`` (a batch) at positions ``where`` (in any order)."""
        self._keys[where] = row_keys(levels)
        self._filled += len(where)

    def keys(self) -> np.ndarray:
        """The ``(size, KEY_BYTES)`` uint8 keys of the samples, in sample order."""
        assert self._filled == len(self._keys), "keys missing"
        return self._keys


class SampleRows:
    """The rows ``rows`` (sorted sample indices; None for all) of a layer, batch by batch.

    ``span = (lo, hi)``: only samples ``lo .. hi - 1`` arrive here (one rank's shard), so only the
    wanted rows among them are kept, in sample order.
    """

    def __init__(self, rows: np.ndarray | None, span: tuple[int, int]) -> None:
        lo, hi = span
        self.lo = lo
        self.slot = np.arange(hi - lo)  # where each sample of the span is kept; -1: not kept
        if rows is not None:
            wanted = rows[(rows >= lo) & (rows < hi)] - lo
            self.slot = np.full(hi - lo, -1)
            self.slot[wanted] = np.arange(len(wanted))
        self.size = int((self.slot >= 0).sum())
        self._kept: np.ndarray | None = None
        self._filled = 0

    def add(self, t: np.ndarray, samples: np.ndarray) -> None:
        """Keep the wanted rows of the batch ``t``, whose rows are the samples ``samples``."""
        slots = self.slot[samples - self.lo]
        wanted = slots >= 0
        if self._kept is None:
            self._kept = np.empty((self.size, t.shape[1]), dtype=t.dtype)
        self._kept[slots[wanted]] = t if wanted.all() else t[wanted]
        self._filled += int(wanted.sum())

    def array(self) -> np.ndarray:
        assert self._kept is not None and self._filled == len(self._kept)
        return self._kept


class LayerStream:
    """One layer under its estimators (``chosen``: quantity -> estimator), fed batch by batch.

    ``value_range``: the (min, max) of the whole layer, for estimators that ``needs_range``.
    ``inputs``: the recording's :class:`~infolens.plane._minibatch.SharedInputs` (one per layer
    without).
    ``rows``: the subsample of ``"sample"`` estimators (None: every row). ``shards``: which rows
    arrive here (:class:`~infolens.plane.distributed.Shards`; default all ``len(y)``); ``y`` and
    ``x`` hold every row. With rows on several ranks, :meth:`measure` exchanges what each
    estimator needs (keys, minibatch values, subsample rows) and gives every rank the numbers of
    the whole data.
    """

    def __init__(self, chosen: Mapping[str, LayerEstimator], y: np.ndarray, n_classes: int,
                 x: np.ndarray | None, rows: np.ndarray | None,
                 value_range: tuple[float, float] | None, shards: Shards | None = None,
                 name: str = "layer", inputs: SharedInputs | None = None) -> None:
        self.chosen, self.y, self.n_classes, self.x, self.rows = chosen, y, n_classes, x, rows
        self.value_range, self.name = value_range, name
        self.shards = shards if shards is not None else Shards.local(len(y), "InformationPlane.record")
        self.width = 0  # features of a row, from the first batch
        self._states: list[tuple[LayerEstimator, tuple[str, ...], Any]] = []
        lo, hi = self.shards.span
        for one, wanted in grouped(chosen):
            if one.spec.levels is not None:
                state: Any = CodeStream(hi - lo)
            elif one.spec.consumes == "minibatch":
                state = MinibatchMean(one, y, n_classes, x, wanted, span=self.shards.span, inputs=inputs)
            else:
                state = SampleRows(rows if one.spec.consumes == "sample" else None, self.shards.span)
            self._states.append((one, wanted, state))

    def add(self, t: np.ndarray, samples: np.ndarray) -> None:
        """Feed the batch ``t`` (the layer's dtype) whose rows are the samples ``samples``."""
        self.width = t.shape[1]
        step = max(1, CHUNK_VALUES // max(t.shape[1], 1))
        where = samples - self.shards.span[0]
        for one, _, state in self._states:
            if isinstance(state, CodeStream):
                for i in range(0, len(t), step):
                    state.add(one.spec.levels(t[i:i + step], one.params, self.value_range), where[i:i + step])
            else:
                state.add(t, samples)

    def measure(self) -> tuple[dict[str, float], dict[str, list[str]]]:
        """``({quantity: nats}, {quantity: flags})`` once every batch has been fed (on every rank,
        at the same point, when the rows are spread)."""
        self.shards.check_shape((self.shards.span[1] - self.shards.span[0], self.width),
                                f"acts[{self.name!r}]")
        nats: dict[str, float] = {}
        flags: dict[str, list[str]] = {}
        for one, wanted, state in self._states:
            if isinstance(state, CodeStream):
                codes = codes_of_keys(self.shards.rows(state.keys(), f"keys of {self.name}"))
                values, found = one.measure_codes(codes, self.y, self.n_classes, quantities=wanted)
            elif isinstance(state, MinibatchMean):
                values, found = one.flagged(state.values(self.shards), self.y, self.n_classes, wanted)
            else:
                t = self.shards.rows(state.array(), f"acts[{self.name!r}]")
                if self.rows is not None and one.spec.consumes == "sample":
                    x = None if self.x is None else self.x[self.rows]
                    values, found = measure_group(one, wanted, t, self.y[self.rows], self.n_classes, x)
                else:
                    values, found = measure_group(one, wanted, t, self.y, self.n_classes, self.x)
            nats.update(values)
            flags.update(found)
        return nats, flags


def needs_range(chosen: Iterable[Mapping[str, LayerEstimator]]) -> bool:
    """Whether any estimator quantizes over the layer's own range (a first pass is needed)."""
    return any(one.spec.levels is not None and one.spec.needs_range(one.params)
               for by_quantity in chosen for one in by_quantity.values())


def value_ranges(batches: Iterator[Mapping[Any, np.ndarray]]) -> dict[Any, tuple[float, float]]:
    """The (min, max) of every layer over all batches (``{key: (b, features) array}``)."""
    out: dict[Any, tuple[float, float]] = {}
    for batch in batches:
        for key, t in batch.items():
            low, high = float(t.min()), float(t.max())
            if key in out:
                low, high = min(low, out[key][0]), max(high, out[key][1])
            out[key] = (low, high)
    return out


class ActivationSink:
    """Kept activations of one recording: float32 arrays (n, features) per layer, filled batch by
    batch, in memory or, with ``directory``, as ``.npy`` files read back memory-mapped.

    The files are ``directory/<activation>-seed<seed>/epoch<epoch>/<layer>.npy`` (names
    percent-encoded), written under a temporary name and renamed when complete.
    """

    def __init__(self, n: int, directory: str | Path | None, activation: str, seed: int,
                 epoch: int) -> None:
        self.n = n
        self.folder = None if directory is None else (
            Path(directory) / f"{quote(activation, safe='')}-seed{seed}" / f"epoch{epoch}")
        self._arrays: dict[str, np.ndarray] = {}

    def add(self, layer: str, t: np.ndarray, where: int | np.ndarray) -> None:
        """The rows ``where`` of ``layer`` (positions, or the first of ``len(t)`` consecutive)."""
        if layer not in self._arrays:
            shape = (self.n, t.shape[1])
            if self.folder is None:
                self._arrays[layer] = np.empty(shape, dtype=np.float32)
            else:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._arrays[layer] = np.lib.format.open_memmap(
                    self._path(layer, ".part"), mode="w+", dtype=np.float32, shape=shape)
        self._arrays[layer][slice(where, where + len(t)) if isinstance(where, int) else where] = t

    def _path(self, layer: str, suffix: str = "") -> Path:
        assert self.folder is not None
        return self.folder / f"{quote(layer, safe='')}.npy{suffix}"

    def finish(self) -> dict[str, np.ndarray]:
        """``{layer: array}``; memory-mapped read-only from the files with a ``directory``."""
        if self.folder is None:
            return dict(self._arrays)
        out = {}
        for layer, array in self._arrays.items():
            array.flush()
            del array
            self._path(layer, ".part").replace(self._path(layer))
            out[layer] = np.load(self._path(layer), mmap_mode="r")
        self._arrays.clear()
        return out


__all__ = ["CHUNK_VALUES", "KEY_BYTES", "ActivationSink", "CodeStream", "LayerStream", "MinibatchMean",
           "SampleRows", "codes_of_keys", "needs_range", "row_keys", "value_ranges"]
