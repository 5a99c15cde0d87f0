"""What an experiment preset is: the paper, its claim, the networks (variants) and the estimators.

A :class:`Preset` is pure data; :mod:`infolens.experiments.presets.catalog` declares the five
presets of ``infolens run --experiment NAME`` and :func:`infolens.experiments.presets.run_experiment`
runs one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Preset", "Variant"]


@dataclass(frozen=True)
class Variant:
    """One kind of network trained with every seed of an experiment.

    Parameters
    ----------
    name : str
        Its name in tables and the store's ``activation`` column, e.g. ``"relu+wd"``.
    activation : str
        Hidden nonlinearity (:data:`infolens.models.ACTIVATIONS`).
    weight_decay : float
        Adam's L2 penalty coefficient.
    noise_std : float
        Standard deviation of the Gaussian noise added to every hidden layer (0: none), in
        activation units; the noise is present in training and evaluation (Goldfeld et al. 2019).
    quantize_bits : int
        Quantize every hidden layer's output to this many bits in the forward pass, with a
        straight-through backward pass (0: none; Lorenzen et al. 2022).
    paper_says : mapping
        Estimator key -> what the paper reports for this variant (``True`` compresses, ``False``
        does not, ``None`` not stated).
    estimator_params : mapping
        Estimator key -> settings that replace the preset's for this variant (e.g. the grid of
        the ``quantized`` estimator, which must match the variant's :class:`~infolens.Quantize`).
    quantize_range : (float, float)
        ``(low, high)`` of the quantization grid.
    """

    name: str
    activation: str
    weight_decay: float = 0.0
    noise_std: float = 0.0
    quantize_bits: int = 0
    paper_says: Mapping[str, bool | None] = field(default_factory=dict)
    estimator_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    quantize_range: tuple[float, float] = (-1.0, 1.0)


@dataclass(frozen=True)
class Preset:
    """An experiment of ``infolens run --experiment NAME``.

    Parameters
    ----------
    name, title : str
    paper : str
        Full citation.
    claim : str
        The paper's claim in one sentence.
    dataset : {"mnist", "szt12", "tokens"}
        ``"mnist"``: :func:`infolens.data.mnist_digits` (4,000 train, 1,000 test);
        ``"szt12"``: the 12-bit task split 80/20; ``"tokens"``: :func:`infolens.data.marker_count`
        (``n_samples`` sequences, default 4,000, split 80/20).
    architecture : {"mlp", "cnn", "transformer"}
        ``"mlp"``: a :class:`~infolens.models.StackedMLP` of ``widths`` (all seeds of a variant in
        one batched model); ``"cnn"``: a :class:`~infolens.models.MemberStack` of
        :class:`~infolens.models.DigitsCNN` (members run one after the other); ``"transformer"``: a
        :class:`~infolens.models.MemberStack` of :class:`~infolens.models.TokenTransformer`
        (``widths`` = (tokens per sequence, classes)).
    widths : tuple of int
        MLP widths (input, hidden..., classes).
    variants : tuple of Variant
    estimators : mapping
        Estimator key -> ``{"estimator": name, **settings}``
        (:func:`infolens.plane.estimate.make_layer_estimator`).
    views : tuple of str
        How conv feature maps (n, C, H, W) and sequence layers (n, tokens, d) are turned into
        vectors: ``"pooled"`` (the mean of each channel over H x W: C values; of each feature over
        the tokens: d values) or ``"flattened"`` (all C x H x W or tokens x d values); ``("",)``
        for vector layers.
    epochs, n_seeds, lr, batch_size, points_per_decade : training and schedule defaults.
    plane_train_samples : int or None
        The training-set plane uses the first this many training samples (in the split's
        shuffled order; None: all); the test-set plane uses all test samples.
    n_samples : int, optional
        Use only this many samples of the data set (MNIST: None = all 5,000; tokens: the number
        of sequences generated, None = 4,000).
    clustering : bool
        Record :func:`infolens.class_clustering` of every hidden layer at every recorded epoch.
    quick : mapping
        Settings of ``--quick`` that differ from the above.
    note : str
        What the reader should know about our set-up (differences from the paper).
    """

    name: str
    title: str
    paper: str
    claim: str
    dataset: str
    architecture: str
    widths: tuple[int, ...]
    variants: tuple[Variant, ...]
    estimators: Mapping[str, Mapping[str, Any]]
    epochs: int
    n_seeds: int = 3
    lr: float = 1e-3
    batch_size: int = 128
    points_per_decade: int = 10
    plane_train_samples: int | None = 2000
    n_samples: int | None = None
    views: tuple[str, ...] = ("",)
    clustering: bool = False
    quick: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def estimators_of(self, variant: Variant) -> dict[str, dict[str, Any]]:
        """Estimator key -> ``{"estimator": name, **settings}`` for ``variant`` (its overrides applied)."""
        return {key: {**spec, **variant.estimator_params.get(key, {})}
                for key, spec in self.estimators.items()}

    def labels_of(self, variant: Variant) -> dict[str, str]:
        """Estimator key -> the label its records carry for ``variant`` (e.g. ``"kde(noise_var=0.1)"``)."""
        from infolens.plane.estimate import make_layer_estimator

        out = {}
        for key, spec in self.estimators_of(variant).items():
            params = {k: v for k, v in spec.items() if k != "estimator"}
            out[key] = make_layer_estimator(spec["estimator"], params, self.name).label
        return out

    def recorded_names(self, variant: Variant) -> list[str]:
        """Names under which ``variant`` is stored: one per view (``"relu pooled"``, ...)."""
        return [f"{variant.name} {view}".strip() for view in self.views]
