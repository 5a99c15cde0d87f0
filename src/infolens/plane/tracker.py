"""``InformationPlane``: record I(X;T) and I(T;Y) of every layer during training.

Use it in any training loop::

    plane = InformationPlane(x, y, estimator="binning", bins=30, schedule="log", last_epoch=119)
    for epoch in range(120):
        train_one_epoch(model)
        if plane.should_record(epoch):
            plane.record(model, epoch, activation="tanh", seed=0)
    plane.result.phases()

or feed activations you already have (another framework) to
:meth:`InformationPlane.record_activations`.

Several networks trained as one batched model (:class:`~infolens.models.StackedMLP`, whose
layers output ``(members, n, width)``) are recorded in one call, each member under its own
``(activation, seed)``::

    plane.record(stacked, epoch, members=stacked.members)   # [("tanh", 0), ("relu", 0), ...]

This gives exactly the records of recording each member as a separate network.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from infolens._units import check_units
from infolens._validation import (
    _is_tensor,
    as_labels,
    as_samples,
    check_choice,
    check_device,
    check_int,
    check_seed,
    fail,
    to_numpy,
)
from infolens.layers import REDUCE
from infolens.model_inputs import ModelInputs, device_of, float_dtype_of, run_model
from infolens.plane._minibatch import SharedInputs, reading_order
from infolens.plane.distributed import Shards, check_distributed, rank
from infolens.plane.estimate import (
    PlaneEstimators,
    RecordMaker,
    layer_matrix,
    make_plane_estimators,
    plane_records,
)
from infolens.plane.result import PlaneResult
from infolens.plane.schedule import Schedule, make_schedule
from infolens.plane.stream import ActivationSink, LayerStream, needs_range, value_ranges

_FN = "InformationPlane"


class InformationPlane:
    """The information plane of a network over training, under one estimator.

    Parameters
    ----------
    x : tensor or array of shape (n, ...)
        The inputs the network is run on at every recording. X is treated as the identity of
        each of these n samples (Shwartz-Ziv & Tishby 2017; Saxe et al. 2018), so for a
        deterministic network I(X;T) is the entropy of the (quantized or noisy) layer; see
        :mod:`infolens.plane.estimate` for what each estimator then measures.
    y : array of shape (n,)
        Labels; each distinct value is one class.
    layers : str, list of str, or callable, optional
        Layer names, globs or a predicate, passed to :func:`infolens.layers.capture`. Default:
        the model's ``layer_names`` attribute when it has one (the reference networks), else
        capture's default (the leaf layers that produce activations).
    estimator : str, LayerEstimator or mapping
        One of :data:`infolens.plane.ESTIMATORS` (see :mod:`infolens.plane.estimate`) for both
        quantities (with its settings as keywords, or as ``{"estimator": name, **settings}``, the
        way to give matrix Renyi its own ``batch_size``: the keyword ``batch_size`` is the plane's
        streaming batch); ``"auto"`` to choose per layer and quantity
        (:func:`~infolens.plane.estimate.auto_choice`; each record names the choice in
        ``estimated_by``); or one per quantity, ``{"I_XT": "kde", "I_TY": {"estimator":
        "binning", "bins": 10}}`` (values: a name, a dict of ``estimator`` and settings, or a
        LayerEstimator; ``estimator_params`` must then be empty). Every record carries
        ``flags`` (:mod:`infolens.plane.flags`).
    schedule : "every", "log", int, list of int or Schedule
        Which epochs :meth:`should_record` accepts (:class:`~infolens.plane.schedule.Schedule`).
    units : {"bits", "nats"}
    softmax_output : bool
        In :meth:`record`, apply a softmax to the captured layer whose output is the model's
        output (logits -> class probabilities, as in the literature).
    device : str or torch.device, optional
        Where to run the model; default: the device of its first parameter.
    last_epoch : int, optional
        The final epoch, when known: ``"log"`` and int schedules then include it.
    n_points : int
        Points per decade of a ``"log"`` schedule.
    keep_activations : bool, list of int or Schedule
        Keep a float32 copy of the activations of every recorded epoch (``True``) or of the
        listed epochs, in :attr:`activations`, for :func:`~infolens.plane.sensitivity`.
        A 4096 x 31-unit network costs about 0.5 MB per epoch and replicate.
    activations_dir : str or Path, optional
        Keep those copies on disk instead of in memory: one ``.npy`` file per layer, in
        ``activations_dir/<activation>-seed<seed>/epoch<epoch>/``, and :attr:`activations` holds
        them memory-mapped (read-only). With ``batch_size`` they are written batch by batch.
    forward : callable ``(model, batch) -> output``, optional
        How :meth:`record` runs the model on (a batch of) ``x``; default ``model(x)``,
        ``model(*x)`` for a tuple, ``model(**x)`` for a dict (:mod:`infolens.model_inputs`).
        ``x`` may be any of these forms (token ids with an attention mask, say); inputs keep their
        dtype (integer ids stay integer), floating inputs are cast to the model's float dtype.
    reduce : {"flatten", "mean", "last", "first"}
        How :meth:`record` makes one vector per sample of a layer's output
        (:data:`infolens.layers.REDUCE`): flattened, or for sequences ``(n, tokens, features)``
        the mean over tokens, the last or the first token. A module returning a tuple (an
        attention module) is read by its first tensor. Every record names the rule (``reduce``).
    batch_size : int, optional
        Stream :meth:`record` (:mod:`infolens.plane.stream`): the model runs on ``batch_size``
        rows at a time and each batch is estimated from as it comes, so no whole layer is held
        unless an estimator needs one (``adaptive_binning``; ``"sample"`` estimators without
        ``subsample``; ``"auto"``, which chooses from the whole layer). Count-based estimators keep
        a 16-byte key per sample and give the numbers of the whole layer; binning over the
        layer's own range (no ``range``) runs the model twice, once for the range; matrix Renyi
        runs it once, in the order of its seeded batches (whose size, 200, is its own
        ``batch_size``: set it in ``estimator``). None (default)
        runs all of ``x`` at once and estimates from the whole layers.
    subsample : int, optional
        The ``"sample"`` estimators (kde, adaptive_kde, sample_propagation, ksg, v_information)
        read this many rows, drawn without replacement by ``numpy.random.default_rng(
        subsample_seed)`` (the same rows at every epoch, :attr:`subsample_rows`); their records
        carry ``subsample``. Count-based and minibatch estimators read every row. Default: all.
    subsample_seed : int
        Seed of the subsample.
    distributed : bool
        Record from shards under an initialised ``torch.distributed`` process group (each rank
        passes its own ``x``/``y`` shard; the data set is their concatenation in rank order).
        Labels and input vectors are gathered once; at each recording every rank runs the model
        on its own rows, streamed in batches of ``batch_size`` (the whole shard without it), and
        the ranks exchange only what each estimator needs (keys of count-based estimators,
        minibatch values, subsample rows; whole layers for ``adaptive_binning`` and ``"auto"``),
        so every rank computes the records of the concatenated data; only rank 0 should store
        them (:attr:`writes`). Run with e.g. ``torchrun --nproc_per_node 2 train.py``; see
        :mod:`infolens.plane.distributed` and the docs page "Several processes".
    **estimator_params
        ``bins``, ``bin_width``, ``range``, ``correction`` (binning); ``bins``, ``scope``
        (adaptive binning); ``noise_var``, ``bound`` (kde, adaptive_kde); ``noise_var``, ``n_mc``,
        ``random_state``, ``draws`` (sample_propagation); ``bits``, ``low``, ``high``
        (quantized); ``k``, ``variant``, ``metric`` (ksg).

    Attributes
    ----------
    activations : dict
        ``{(activation, seed): {epoch: {layer: float32 array (n, features)}}}`` when
        ``keep_activations``.
    estimation_seconds : float
        Wall time spent estimating (not running the model), summed over recordings.
    """

    def __init__(self, x: Any, y: Any, layers: Any = None, estimator: Any = "binning",
                 schedule: Any = "every", *, units: str = "bits", softmax_output: bool = True,
                 device: Any = None, last_epoch: int | None = None, n_points: int = 10,
                 keep_activations: bool | Iterable[int] | Schedule = False, forward: Any = None,
                 reduce: str = "flatten", batch_size: int | None = None, subsample: int | None = None,
                 subsample_seed: int = 0, activations_dir: str | Path | None = None,
                 distributed: bool = False, **estimator_params: Any):
        self.units = check_units(units, _FN)
        self.estimator: PlaneEstimators = make_plane_estimators(estimator, estimator_params, _FN)
        self.schedule = make_schedule(schedule, last_epoch=last_epoch, n_points=n_points)
        self._x = ModelInputs(x, "x", _FN, forward=forward)
        self.reduce = check_choice("reduce", reduce, REDUCE, _FN)
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, _FN, minimum=1)
        self.distributed = check_distributed(distributed, _FN)
        self.y = as_labels(y, "y", _FN, min_samples=1 if self.distributed else 2)
        if to_numpy(y).ndim != 1:
            raise fail("y", _FN, "an array of labels of shape (n,)", y)
        if self._x.n != len(self.y):
            raise fail("y", _FN, f"as long as 'x' ({self._x.n} samples)",
                       got=f"{len(self.y)} samples")
        #: This process's rows of the data set (all of them unless ``distributed``).
        self._shards = (Shards.of_group(len(self.y), _FN) if self.distributed
                        else Shards.local(len(self.y), _FN))
        if self.distributed:  # every rank holds the labels of all ranks, in rank order
            self.y = as_labels(self._shards.rows(np.asarray(to_numpy(y)), "y"), "y", _FN,
                               min_samples=2)
        self.n_classes = int(self.y.max()) + 1
        self._x_vectors: np.ndarray | None = None
        integral = isinstance(subsample, numbers.Integral) and not isinstance(subsample, bool)
        if subsample is not None and not (integral and 2 <= subsample <= len(self.y)):
            raise fail("subsample", _FN, f"an int from 2 to the number of samples ({len(self.y)}), or None",
                       subsample)
        self.subsample = None if subsample is None else int(subsample)
        self.subsample_seed = check_seed("subsample_seed", subsample_seed, _FN)
        #: The sorted sample indices that ``"sample"`` estimators read (None: all).
        self.subsample_rows = None if self.subsample is None else np.sort(
            np.random.default_rng(self.subsample_seed).choice(len(self.y), self.subsample, replace=False))
        for one in self.estimator.by_quantity.values():
            sampled = self.subsample is not None and one.spec.consumes == "sample"
            n_read = self.subsample if sampled else len(self.y)
            if "k" in one.params and n_read <= one.params["k"]:
                raise fail("k", _FN, f"an int below the number of samples ({n_read})", one.params["k"])
        if self.estimator.needs_inputs:
            self._x_vectors = as_samples(to_numpy(self._x.vectors("x", _FN)), "x", _FN, keep_float32=True)
            self._x_vectors = self._shards.rows(self._x_vectors, "x")
        self.layers = layers
        if not isinstance(softmax_output, bool):
            raise fail("softmax_output", _FN, "a bool", softmax_output)
        self.softmax_output = softmax_output
        self.device = None if device is None else check_device(device, _FN)
        self._keep = self._keep_rule(keep_activations)
        if activations_dir is not None and not isinstance(activations_dir, (str, Path)):
            raise fail("activations_dir", _FN, "a directory path (str or Path), or None", activations_dir)
        self.activations_dir = activations_dir
        self.activations: dict[tuple[str, int], dict[int, dict[str, np.ndarray]]] = {}
        self._records: list[dict[str, Any]] = []
        self._layer_order: list[str] = []
        self._x_cache: dict[str, Any] = {}
        self.estimation_seconds = 0.0

    @staticmethod
    def _keep_rule(keep: Any) -> Callable[[int], bool]:
        if isinstance(keep, bool):
            return lambda epoch: keep
        if isinstance(keep, Schedule):
            return keep.should_record
        try:
            return Schedule(list(keep)).should_record
        except (TypeError, ValueError) as err:
            raise fail("keep_activations", _FN, "a bool, a list of epochs or a Schedule",
                       keep) from err

    def __repr__(self) -> str:
        return (f"InformationPlane(n={len(self.y)}, estimator={self.estimator.label!r}, "
                f"schedule={self.schedule!r}, units={self.units!r}, records={len(self._records)})")

    # ------------------------------------------------------------------ recording
    def should_record(self, epoch: int) -> bool:
        """Whether the schedule records ``epoch``."""
        return self.schedule.should_record(epoch)

    def record(self, model: Any, epoch: int, *, members: Sequence[tuple[str, int]] | None = None,
               run: str = "run", seed: int = 0, activation: str = "", **tags: Any) -> list[dict[str, Any]]:
        """Run ``model`` on ``x`` and record every selected layer at ``epoch``.

        The model runs once on all of ``x`` in eval mode under ``torch.no_grad()``; the training
        flag of every submodule is restored afterwards, even on error. The schedule is *not*
        consulted (call :meth:`should_record` first). ``run``, ``seed``, ``activation`` and
        ``tags`` are copied into the records.

        Parameters
        ----------
        members : sequence of (activation, seed), optional
            For a batched ensemble whose layers output ``(M, n, ...)`` (a
            :class:`~infolens.models.StackedMLP`: pass ``model.members``): member ``m`` is
            recorded as a network of its own, with ``activation`` and ``seed`` from
            ``members[m]`` (the ``seed`` and ``activation`` arguments are then unused). The
            softmax of the output layer is taken per member.

        Returns
        -------
        list of dict
            The new records (two per layer and member: ``I_XT`` and ``I_TY``).
        """
        import torch

        fn = "InformationPlane.record"
        epoch = check_int("epoch", epoch, fn, minimum=0)
        if not isinstance(model, torch.nn.Module):
            raise fail("model", fn, "a torch.nn.Module", model)
        if members is not None:
            members = _check_members(members, fn)
        layers = self.layers if self.layers is not None else getattr(model, "layer_names", None)
        if (self.batch_size is not None or self.distributed) and not self.estimator.auto:
            return self._record_streaming(model, epoch, layers, members, run=str(run),
                                          seed=check_int("seed", seed, fn, minimum=0),
                                          activation=str(activation), **{"reduce": self.reduce, **tags})
        acts = run_layers(model, self._input_for(model), layers, members=members,
                          softmax_output=self.softmax_output, fn=fn, reduce=self.reduce,
                          batch_size=self.batch_size)
        return self.record_activations(acts, epoch, members=members, run=run, seed=seed,
                                       activation=activation, **{"reduce": self.reduce, **tags})

    def _record_streaming(self, model: Any, epoch: int, layers: Any,
                          members: Sequence[tuple[str, int]] | None, *, run: str, seed: int,
                          activation: str, **tags: Any) -> list[dict[str, Any]]:
        """:meth:`record` batch by batch (:mod:`infolens.plane.stream`)."""
        fn = "InformationPlane.record"
        inputs = self._input_for(model)
        who = list(members) if members is not None else [(activation, seed)]

        chosen = self.estimator.by_quantity
        lo, hi = self._shards.span
        order = reading_order([one for one in chosen.values() if one.spec.consumes == "minibatch"],
                              len(self.y))
        if order is not None:  # matrix Renyi's batches one after another; this rank's samples
            order = order[(order >= lo) & (order < hi)] - lo

        def batches() -> Iterator[tuple[np.ndarray, dict[tuple[int, str], np.ndarray]]]:
            start = 0
            for batch in inputs.batches(self.batch_size, order):
                acts = run_layers(model, batch, layers, members=members, softmax_output=self.softmax_output,
                                  fn=fn, reduce=self.reduce)
                local = np.arange(start, start + batch.n) if order is None else order[start:start + batch.n]
                yield lo + local, _member_matrices(acts, len(who) if members is not None else None, batch.n,
                                                   fn, "activations")
                start += batch.n

        ranges = value_ranges(b for _, b in batches()) if needs_range([chosen]) else {}
        return self._record_batches(batches(), ranges, who, epoch, fn, run=run, **tags)

    def _record_batches(self, batches: Iterable[tuple[np.ndarray, dict[tuple[int, str], np.ndarray]]],
                        ranges: Mapping[tuple[int, str], tuple[float, float]],
                        who: Sequence[tuple[str, int]], epoch: int, fn: str, *, run: str,
                        **tags: Any) -> list[dict[str, Any]]:
        """Record this process's rows, given as ``(samples, {(member, layer): (b, features)})``
        batches (``samples``: the b sample indices of the rows, in any order), under every estimator
        (:class:`~infolens.plane.stream.LayerStream`); ``ranges``: the per-layer (min, max) of
        those rows, when an estimator bins over the layer's range."""
        chosen = self.estimator.by_quantity
        if ranges:
            ranges = self._shards.ranges(ranges)
        streams: dict[tuple[int, str], LayerStream] = {}
        keep = self._keep(epoch)
        lo, hi = self._shards.span
        sinks = [ActivationSink(hi - lo, None if self.distributed else self.activations_dir, kind,
                                member_seed, epoch) for kind, member_seed in who] if keep else []
        inputs = SharedInputs(self._x_vectors)  # what minibatch estimators read of X, for every layer
        spent = 0.0
        for samples, batch in batches:
            began = time.perf_counter()
            for key, t in batch.items():
                if key not in streams:
                    streams[key] = LayerStream(chosen, self.y, self.n_classes, self._x_vectors,
                                               self.subsample_rows, ranges.get(key), self._shards, key[1],
                                               inputs)
                streams[key].add(t, samples)
                if keep:
                    sinks[key[0]].add(key[1], t, samples - lo)
            spent += time.perf_counter() - began
        began = time.perf_counter()
        records = []
        for m, (kind, member_seed) in enumerate(who):
            maker = RecordMaker(self.estimator, epoch, self.units, fn, subsample=self.subsample,
                                run=run, seed=member_seed, activation=kind, **tags)
            for (member, layer), stream in streams.items():
                if member == m:
                    maker.add(layer, chosen, *stream.measure())
            records += maker.finish()
        self.estimation_seconds += spent + time.perf_counter() - began
        for m, (kind, member_seed) in enumerate(who):
            kept = self._kept(sinks[m], kind, member_seed, epoch) if keep else None
            self._keep_records([r for r in records if (r["activation"], r["seed"]) == (kind, member_seed)],
                               epoch, kind, member_seed, kept)
        return records

    def _kept(self, sink: ActivationSink, activation: str, seed: int, epoch: int) -> dict[str, np.ndarray]:
        """A recording's kept activations; under ``distributed``, every rank's rows, gathered in
        rank order (on disk only by the rank that :attr:`writes`)."""
        kept = sink.finish()
        if not self.distributed:
            return kept
        whole = ActivationSink(len(self.y), self.activations_dir if self.writes else None, activation, seed,
                               epoch)
        for layer, rows in kept.items():
            whole.add(layer, self._shards.rows(rows, f"acts[{layer!r}]"), 0)
        return whole.finish()

    def record_activations(self, acts: Mapping[str, Any], epoch: int, *,
                           members: Sequence[tuple[str, int]] | None = None, run: str = "run",
                           seed: int = 0, activation: str = "", **tags: Any) -> list[dict[str, Any]]:
        """Record activations computed elsewhere: ``{layer: tensor or array of shape (n, ...)}``.

        Rows must follow the order of ``x``/``y``. Nothing is applied to them but flattening to
        ``(n, features)`` (the records say ``reduce="flatten"``; pass output probabilities, not
        logits, if that is what the plane should show). With ``members``
        (a sequence of ``(activation, seed)``), every value has shape ``(M, n, ...)`` and slice
        ``m`` is recorded as member ``members[m]`` (see :meth:`record`).
        """
        fn = "InformationPlane.record_activations"
        epoch = check_int("epoch", epoch, fn, minimum=0)
        if not isinstance(acts, Mapping) or not acts:
            raise fail("acts", fn, "a non-empty mapping of layer name to activations", acts)
        if members is not None:
            members = _check_members(members, fn)
        if self.distributed and not self.estimator.auto:  # this rank's rows, exchanged as needed
            return self._record_shard(acts, epoch, members, run=str(run),
                                      seed=check_int("seed", seed, fn, minimum=0), activation=str(activation),
                                      **tags)
        if self.distributed:  # "auto" chooses from whole layers: everybody's rows (rank order)
            axis = 0 if members is None else 1
            acts = {layer: self._shards.rows(to_numpy(value), f"acts[{str(layer)!r}]", axis=axis)
                    for layer, value in acts.items()}
        return self._record_local(acts, epoch, members=members, run=run, seed=seed,
                                  activation=activation, **tags)

    def _record_shard(self, acts: Mapping[str, Any], epoch: int, members: Sequence[tuple[str, int]] | None,
                      *, run: str, seed: int, activation: str, **tags: Any) -> list[dict[str, Any]]:
        """:meth:`record_activations` of this rank's rows under ``distributed`` (one batch)."""
        fn = "InformationPlane.record_activations"
        who = list(members) if members is not None else [(activation, seed)]
        batch = _member_matrices(acts, len(who) if members is not None else None, self._x.n, fn, "acts")
        ranges = value_ranges([batch]) if needs_range([self.estimator.by_quantity]) else {}
        return self._record_batches([(np.arange(*self._shards.span), batch)], ranges, who, epoch, fn, run=run,
                                    **{"reduce": "flatten", **tags})

    @property
    def writes(self) -> bool:
        """Whether this process should store the records: rank 0 of a ``distributed`` plane
        (every rank computes the same records), always True otherwise."""
        return not self.distributed or rank() == 0

    def _record_local(self, acts: Mapping[str, Any], epoch: int, *,
                      members: Sequence[tuple[str, int]] | None, run: str, seed: int, activation: str,
                      **tags: Any) -> list[dict[str, Any]]:
        """:meth:`record_activations` on activations of every sample (already gathered)."""
        fn = "InformationPlane.record_activations"
        if members is not None:
            shapes = {str(layer): tuple(value.shape) for layer, value in acts.items()}
            if any(len(shape) < 2 or shape[0] != len(members) for shape in shapes.values()):
                raise fail("acts", fn, f"arrays of shape ({len(members)}, n, ...): one slice per member",
                           got=f"shapes {shapes}")
            records = []
            for m, (kind, member_seed) in enumerate(members):
                records += self._record_local({layer: value[m] for layer, value in acts.items()}, epoch,
                                              members=None, run=run, seed=member_seed, activation=kind,
                                              **tags)
            return records
        seed = check_int("seed", seed, fn, minimum=0)
        tags.setdefault("reduce", "flatten")  # given activations are flattened to (n, features)
        start = time.perf_counter()
        records = plane_records(acts, self.y, self.n_classes, self.estimator, epoch, units=self.units,
                                fn=fn, x=self._x_vectors, rows=self.subsample_rows, run=str(run), seed=seed,
                                activation=str(activation), **tags)
        self.estimation_seconds += time.perf_counter() - start
        kept = None
        if self._keep(epoch):
            sink = ActivationSink(len(self.y), self.activations_dir, str(activation), seed, epoch)
            for layer, value in acts.items():
                sink.add(str(layer), to_numpy(value).reshape(len(self.y), -1), 0)
            kept = sink.finish()
        self._keep_records(records, epoch, str(activation), seed, kept)
        return records

    def _keep_records(self, records: list[dict[str, Any]], epoch: int, activation: str, seed: int,
                      kept: dict[str, np.ndarray] | None) -> None:
        """Add one member's new records (and its kept activations, if any) to the plane."""
        self._records.extend(records)
        for record in records:
            if record["layer"] not in self._layer_order:
                self._layer_order.append(record["layer"])
        if kept is not None:
            self.activations.setdefault((activation, seed), {})[epoch] = kept

    def record_members(self, activations: Sequence[Any], epoch: int, *, seeds: Sequence[int],
                       layer_names: Sequence[str] | None = None, run: str = "run",
                       activation: str | Sequence[str] = "", **tags: Any) -> list[dict[str, Any]]:
        """Record an ensemble from a list of ``(members, n, width)`` activations, one per layer.

        ``activations[l][m]`` is layer ``l`` of member ``m``; member ``m`` is recorded with seed
        ``seeds[m]`` and activation ``activation`` (one name for all, or one per member). Layers
        are named ``layer_names`` (default ``"layers.0"``, ``"layers.1"``, ...). The same as
        :meth:`record_activations` with ``members=list(zip(activation, seeds))``.
        """
        fn = "InformationPlane.record_members"
        if isinstance(activations, Mapping) or not isinstance(activations, Sequence) or not activations:
            raise fail("activations", fn, "a non-empty list of (members, n, width) arrays", activations)
        names = list(layer_names) if layer_names is not None else [f"layers.{i}"
                                                                    for i in range(len(activations))]
        if len(names) != len(activations):
            raise fail("layer_names", fn, f"{len(activations)} names (one per layer)", names)
        seeds = list(seeds)
        kinds = [activation] * len(seeds) if isinstance(activation, str) else list(activation)
        if len(kinds) != len(seeds):
            raise fail("activation", fn, f"a str or one name per seed ({len(seeds)})", activation)
        return self.record_activations(dict(zip(names, activations, strict=True)), epoch,
                                       members=list(zip(kinds, seeds, strict=True)), run=run, **tags)

    # ------------------------------------------------------------------ results
    @property
    def result(self) -> PlaneResult:
        """All records so far as a :class:`PlaneResult` (layers in recording order)."""
        return PlaneResult(self._records, layers=self._layer_order)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._records]

    def _model_device(self, model: Any) -> Any:
        if self.device is not None:
            return self.device
        for p in model.parameters():
            return p.device
        return "cpu"

    def _input_for(self, model: Any) -> ModelInputs:
        """``x`` on the model's device, floating parts cast to its float dtype (integers kept)."""
        device = self._model_device(model)
        dtype = float_dtype_of(model)
        key = f"{device}/{dtype}"
        if key not in self._x_cache:
            self._x_cache[key] = self._x.to(device=device, float_dtype=dtype)
        return self._x_cache[key]


def _member_matrices(acts: Mapping[Any, Any], members: int | None, n: int, fn: str,
                     name: str) -> dict[tuple[int, str], np.ndarray]:
    """``{(member, layer): (n, features) array}`` of one batch of activations: each value as it is
    (``members`` None, member 0), or ``value[m]`` of a ``(members, n, ...)`` ensemble value."""
    out = {}
    for layer, value in acts.items():
        if members is not None and (len(value.shape) < 2 or value.shape[0] != members):
            raise fail(name, fn, f"arrays of shape ({members}, n, ...): one slice per member",
                       got=f"shape {tuple(value.shape)} for {str(layer)!r}")
        for m in range(members or 1):
            out[(m, str(layer))] = layer_matrix(value if members is None else value[m],
                                                f"{name}[{str(layer)!r}]", n, fn, keep_float32=True)
    return out


def run_layers(model: Any, x: Any, layers: Any = None, *, members: Sequence[tuple[str, int]] | None = None,
               softmax_output: bool = True, fn: str = "run_layers", reduce: str = "flatten",
               forward: Any = None, batch_size: int | None = None) -> dict[str, Any]:
    """The activations of ``layers`` when ``model`` runs once on ``x``: what
    :meth:`InformationPlane.record` estimates from.

    The model runs in eval mode under ``torch.no_grad()`` (every submodule's training flag is
    restored). Without ``members`` each value has shape ``(n, features)``; with ``members``
    (a batched ensemble such as :class:`~infolens.models.StackedMLP`, ``members=model.members``)
    each value has shape ``(M, n, ...)`` and ``value[m]`` is member ``members[m]``'s layer, so
    ``{name: value[m] for name, value in acts.items()}`` are the activations of one member. With
    ``softmax_output``, the layer whose output is the model's output holds class probabilities
    (a softmax over its last dimension, per member).

    ``x`` is any input form of :mod:`infolens.model_inputs` (a tensor, a tuple or dict of them,
    or a :class:`~infolens.model_inputs.ModelInputs`), run by ``forward`` when given, in batches of
    ``batch_size`` rows (all at once for None). ``reduce`` is the rule that makes one vector per
    sample (:data:`infolens.layers.REDUCE`; with ``members`` only ``"flatten"``, which keeps the
    member dimension).
    """
    import torch

    from infolens.layers import capture, eval_mode

    check_choice("reduce", reduce, REDUCE, fn)
    lead = () if members is None else (len(_check_members(members, "run_layers")),)
    if lead and reduce != "flatten":
        raise fail("reduce", fn, "'flatten' when members are given", reduce)
    rule = None if lead else reduce
    if lead and batch_size is not None:  # (M, n, ...) layers join along the sample dimension, 1
        inputs = x if isinstance(x, ModelInputs) else ModelInputs(
            x, "x", fn, min_samples=1, forward=forward).to(device_of(model), float_dtype_of(model))
        parts = [run_layers(model, batch, layers, members=members, softmax_output=softmax_output, fn=fn)
                 for batch in inputs.batches(batch_size)]
        return {name: torch.cat([part[name] for part in parts], dim=1) for name in parts[0]}
    with eval_mode(model), torch.no_grad(), capture(model, layers, reduce=rule) as captured:
        output = run_model(model, x, forward=forward, batch_size=batch_size, name="x", fn=fn)
        acts = dict(captured)
    if softmax_output and _is_tensor(output):
        name = _output_layer(acts, output)
        if name is not None:
            rows = acts[name].shape[len(lead)]
            acts[name] = torch.softmax(acts[name].reshape(*lead, rows, -1).float(), dim=-1)
    return acts


def _check_members(members: Any, fn: str) -> list[tuple[str, int]]:
    """``members`` as a list of distinct ``(activation name, seed >= 0)`` pairs."""
    try:
        pairs = [(kind, seed) for kind, seed in members]
    except (TypeError, ValueError) as err:
        raise fail("members", fn, "a sequence of (activation, seed) pairs", members) from err
    if not pairs or any(not isinstance(kind, str) for kind, _ in pairs):
        raise fail("members", fn, "a non-empty sequence of (activation, seed) pairs", members)
    out = [(kind, check_int("members", seed, fn, minimum=0)) for kind, seed in pairs]
    if len(set(out)) != len(out):
        raise fail("members", fn, "distinct (activation, seed) pairs", members)
    return out


def _output_layer(acts: Mapping[str, Any], output: Any) -> str | None:
    """The last captured layer whose activations are the model's output, if any."""
    import torch

    flat = output.detach().reshape(output.shape[0], -1)
    for name in reversed(list(acts)):
        value = acts[name]
        if (_is_tensor(value) and value.numel() == flat.numel() and value.shape[0] == flat.shape[0]
                and torch.equal(value.reshape(flat.shape).to(flat.device), flat)):
            return name
    return None


__all__ = ["InformationPlane", "run_layers"]
