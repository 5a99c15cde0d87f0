"""The experiment presets of ``infolens run --experiment NAME`` (issue 13), declared once.

Each preset names its paper, the paper's claim, the networks, the estimators and what the paper
reports per variant and estimator (``paper_says``), so that the summary can put the claim next
to our measurement. Defaults are sized to finish in under 10 minutes on 2 CPU cores;
``--quick`` (the ``quick`` settings) in under a minute.
"""

from __future__ import annotations

from infolens.experiments.plane.config import DEFAULT_BIN_WIDTH
from infolens.experiments.presets.spec import Preset, Variant

__all__ = ["PRESETS", "SZT_WIDTHS", "get_preset"]

SZT_WIDTHS = (12, 10, 7, 5, 4, 3, 2)
_SAXE = ("A. M. Saxe, Y. Bansal, J. Dapello, M. Advani, A. Kolchinsky, B. D. Tracey and D. D. Cox, "
         "\"On the information bottleneck theory of deep learning\", ICLR 2018 (J. Stat. Mech. 2019, "
         "124020).")
_GOLDFELD = ("Z. Goldfeld, E. van den Berg, K. Greenewald, I. Melnyk, N. Nguyen, B. Kingsbury and "
             "Y. Polyanskiy, \"Estimating information flow in deep neural networks\", ICML 2019, PMLR "
             "97:2299-2308.")
_LORENZEN = ("S. S. Lorenzen, C. Igel and M. Nielsen, \"Information bottleneck: exact analysis of "
             "(quantized) neural networks\", ICLR 2022 (arXiv:2106.12912).")
_CHELOMBIEV = ("I. Chelombiev, C. Houghton and C. O'Donnell, \"Adaptive estimators show information "
               "compression in deep neural networks\", ICLR 2019 (arXiv:1902.09037).")

_WICKSTROM = ("K. Wickstrom, S. Lokse, M. Kampffmeyer, S. Yu, J. Principe and R. Jenssen, \"Information "
              "plane analysis of deep neural networks via matrix-based Renyi's entropy and tensor kernels\", "
              "arXiv:1909.11396 (2019); Entropy 25(6):899 (2023).")

_QUICK_SZT = {"epochs": 60, "n_seeds": 2, "points_per_decade": 4, "plane_train_samples": 600}

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset(
        name="saxe-mnist",
        title="tanh vs ReLU on real MNIST digits (Saxe et al. 2018)",
        paper=_SAXE,
        claim="Compression in I(X;T) comes from saturating nonlinearities: with binning (and the KDE upper "
              "bound) the tanh network compresses while the ReLU network does not.",
        dataset="mnist", architecture="mlp", widths=(784, 1024, 20, 20, 20, 10),
        variants=(Variant("tanh", "tanh", paper_says={"binning": True, "kde": True}),
                  Variant("relu", "relu", paper_says={"binning": False, "kde": False})),
        estimators={"binning": {"estimator": "binning", "bin_width": DEFAULT_BIN_WIDTH},
                    "kde": {"estimator": "kde", "noise_var": 0.1}},
        epochs=80, n_seeds=3, lr=1e-3, batch_size=128, points_per_decade=8, plane_train_samples=2000,
        quick={"epochs": 3, "n_seeds": 2, "n_samples": 1000, "plane_train_samples": 400,
               "points_per_decade": 3},
        note="Saxe et al. trained with SGD for many more epochs on the full 60,000-digit set; here Adam "
             "(lr 1e-3, batches of 128) on 4,000 digits, bins of width 2/30 for both activations."),
    Preset(
        name="noisy-nets",
        title="Noisy networks: compression and clustering (Goldfeld et al. 2019)",
        paper=_GOLDFELD,
        claim="In noisy networks (T = f(X) + Z, so I(X;T) is finite), compression of I(X;T) is driven by "
              "the clustering of the hidden representations: the two coincide over training.",
        dataset="szt12", architecture="mlp", widths=SZT_WIDTHS,
        variants=(Variant("tanh", "tanh", noise_std=0.1, paper_says={"sp": True}),
                  Variant("relu", "relu", noise_std=0.1, paper_says={"sp": None})),
        estimators={"sp": {"estimator": "sample_propagation", "noise_var": 0.01}},
        epochs=1000, n_seeds=4, lr=2e-3, batch_size=128, points_per_decade=8, plane_train_samples=1000,
        clustering=True, quick=_QUICK_SZT,
        note="Noise standard deviation 0.1 on every hidden layer in training and evaluation; Goldfeld et al. "
             "report their tanh nets on the 12-bit task and a spiral task; ReLU is our addition."),
    Preset(
        name="quantized",
        title="8-bit quantized networks: exact I(X;T) and I(T;Y) (Lorenzen et al. 2022)",
        paper=_LORENZEN,
        claim="With every activation quantized, I(X;T) and I(T;Y) are exact: all layers show a fitting "
              "phase, the output layer compresses in every run, and compression of the hidden layers "
              "depends on the activation function.",
        dataset="szt12", architecture="mlp", widths=SZT_WIDTHS,
        variants=(Variant("tanh", "tanh", quantize_bits=8, paper_says={"exact": True}),
                  Variant("relu", "relu", quantize_bits=8, quantize_range=(0.0, 4.0),
                          paper_says={"exact": None}, estimator_params={"exact": {"low": 0.0, "high": 4.0}})),
        estimators={"exact": {"estimator": "quantized"}},
        epochs=1000, n_seeds=4, lr=2e-3, batch_size=128, points_per_decade=8, plane_train_samples=None,
        quick=_QUICK_SZT,
        note="8-bit activations in the forward pass (tanh on a grid over [-1, 1], ReLU over [0, 4], clipped "
             "above), clipped straight-through gradients; the 12-bit task. The softmax output is read on the "
             "same grid (on [0, 1]: 128 levels for tanh, 64 for ReLU). The paper's 'depends on the "
             "activation' is recorded as no stated outcome for ReLU."),
    Preset(
        name="adaptive",
        title="Adaptive binning and adaptive KDE on ReLU networks, with and without weight decay "
              "(Chelombiev et al. 2019)",
        paper=_CHELOMBIEV,
        claim="With adaptive estimators, compression appears in ReLU networks as well as tanh ones "
              "(saturation is not required), varies across initialisations, and L2 weight decay "
              "increases it markedly.",
        dataset="szt12", architecture="mlp", widths=SZT_WIDTHS,
        variants=(Variant("relu", "relu", paper_says={"adaptive_binning": True, "adaptive_kde": True}),
                  Variant("relu+wd", "relu", weight_decay=5e-4,
                          paper_says={"adaptive_binning": True, "adaptive_kde": True})),
        estimators={"adaptive_binning": {"estimator": "adaptive_binning", "bins": 30, "scope": "layer"},
                    "adaptive_kde": {"estimator": "adaptive_kde"}},
        epochs=1000, n_seeds=5, lr=2e-3, batch_size=128, points_per_decade=8, plane_train_samples=1000,
        quick=_QUICK_SZT,
        note="The 12-10-7-5-4-3-2 network on the 12-bit task; weight decay: Adam's L2 penalty 5e-4. "
             "Adaptive binning is their entropy-based adaptive binning: 30 bins per layer holding equal "
             "numbers of the layer's distinct activation values (scope='layer'). "
             "Chelombiev et al. report ReLU compression that fixed bins miss, mostly in later layers and not "
             "in every initialisation. Their tanh networks are left out to keep the run under 10 minutes "
             "(saxe-mnist, quantized and noisy-nets cover tanh)."),
    Preset(
        name="cnn-digits",
        title="A small CNN on MNIST digits: planes of conv feature maps",
        paper="No single paper: a demonstration that the information plane of any torch model can be "
              "recorded (here conv, batch norm, pooling and a residual block).",
        claim="No claim is tested: conv feature maps are recorded as 'pooled per channel' (C values per "
              "sample) and 'flattened' (C x H x W values); the two views can disagree.",
        dataset="mnist", architecture="cnn", widths=(784, 10),
        variants=(Variant("relu", "relu"),),
        estimators={"binning": {"estimator": "binning", "bins": 30},
                    "adaptive_kde": {"estimator": "adaptive_kde", "noise_var": 0.1}},
        views=("pooled", "flattened"),
        epochs=10, n_seeds=3, lr=1e-3, batch_size=128, points_per_decade=6, plane_train_samples=1000,
        quick={"epochs": 2, "n_seeds": 2, "n_samples": 1000, "plane_train_samples": 400,
               "points_per_decade": 3},
        note="8 channels; stem (conv-BN-ReLU-maxpool, 8x14x14), residual block (8x14x14), max pool (8x7x7), "
             "linear head. Binning: 30 equal bins over each layer's range at each epoch; adaptive KDE: noise "
             "variance 0.1 x max|T|^2 (scale-free, as the feature maps' scale drifts with batch norm)."),
    Preset(
        name="transformer",
        title="A small transformer encoder on token sequences: planes of wide sequence layers",
        paper="No single paper: the information plane of a transformer's layers (token inputs, sequence "
              "outputs of 32 x 64 = 2,048 values), where binning and KDE saturate.",
        claim="No claim is tested: on 2,048-unit sequence layers every sample has its own bin, so binning "
              "reads I(X;T) = log2 N and I(T;Y) = H(Y) even before training (flagged as saturated); "
              "matrix-based Renyi entropy and the usable information of a held-out probe are defined at "
              "any width and move with training.",
        dataset="tokens", architecture="transformer", widths=(32, 4),
        variants=(Variant("gelu", "gelu"),),
        estimators={"binning": {"estimator": "binning", "bins": 30},
                    "renyi": {"estimator": "matrix_renyi"},
                    "usable": {"estimator": {"I_XT": "matrix_renyi",
                                             "I_TY": {"estimator": "v_information", "n_splits": 3}}}},
        views=("pooled", "flattened"),
        epochs=30, n_seeds=3, lr=1e-3, batch_size=64, points_per_decade=6, plane_train_samples=1000,
        quick={"epochs": 3, "n_seeds": 2, "n_samples": 1000, "plane_train_samples": 300,
               "points_per_decade": 3},
        note="The marker-count task (infolens.data.marker_count): 32 token ids from 16 symbols, the label is "
             "the number of marker tokens modulo 4, so it needs every position and is not linear in the "
             "tokens (a logistic regression on the token counts reaches 0.32, chance 0.25). Two "
             "pre-norm encoder blocks (d = 64, 4 heads, feed-forward 128, GELU, no dropout), mean pooling, "
             "layer norm, a linear head; Adam lr 1e-3, batches of 64; 3,200 train and 800 test sequences. "
             "Sequence layers are read 'pooled' (the mean of each feature over the tokens) and 'flattened'."),
    Preset(
        name="cnn-mnist",
        title="A CNN on MNIST digits under matrix-based Renyi entropy (Wickstrom et al. 2019)",
        paper=_WICKSTROM,
        claim="Under the matrix-based Renyi entropy of the layers' Gram matrices (defined at any width, no "
              "bins), a CNN's layers show a fitting phase and then compression of I(X;T) in the later "
              "layers, on the training data more than on the test data.",
        dataset="mnist", architecture="cnn", widths=(784, 10),
        variants=(Variant("relu", "relu", paper_says={"renyi": True, "binning": None, "usable": True}),),
        estimators={"binning": {"estimator": "binning", "bins": 30},
                    "renyi": {"estimator": "matrix_renyi"},
                    "usable": {"estimator": {"I_XT": "matrix_renyi",
                                             "I_TY": {"estimator": "v_information", "n_splits": 3}}}},
        views=("flattened",),
        epochs=10, n_seeds=3, lr=1e-3, batch_size=128, points_per_decade=6, plane_train_samples=1000,
        quick={"epochs": 2, "n_seeds": 2, "n_samples": 1000, "plane_train_samples": 400,
               "points_per_decade": 3},
        note="Wickstrom et al. record VGG-16 on CIFAR-10 and small CNNs on MNIST with tensor kernels over "
             "the feature maps; here the digits CNN of cnn-digits (8 channels: stem 8x14x14, residual block "
             "8x14x14, max pool 8x7x7, linear head) on 4,000 real MNIST digits, feature maps flattened (a "
             "Gaussian kernel on the flattened map is their tensor kernel with the Frobenius distance). "
             "Matrix Renyi: alpha = 1.01, kernel width the mean distance to the 50th neighbour per batch and "
             "layer ('knn', as in their experiment code), averaged over seeded "
             "minibatches of 200 as they do. 'usable' pairs matrix-Renyi I(X;T) with the usable information "
             "I(T;Y) of a held-out linear probe (3 splits). The paper's 'later layers' is read as 'some "
             "hidden layer compresses'; binning's outcome is not stated (it saturates on these layers)."),
)}


def get_preset(name: str, fn: str = "get_preset") -> Preset:
    """The preset called ``name``; an unknown name raises InfoLensError listing the choices."""
    from infolens._validation import check_choice

    return PRESETS[check_choice("experiment", name, tuple(PRESETS), fn)]
