"""Latent MI (Gowri, Lun, Klein & Yin 2024): KSG on learned low-dimensional embeddings of X and Y.

k-NN estimators lose their accuracy quickly with dimension; neural bounds need a well-trained
critic. Latent MI sits between them: two autoencoders compress X to ``z_x`` and Y to ``z_y``
(``latent_dim`` coordinates each), trained together with a *cross-predictive* loss that makes
each latent predict the other variable, and KSG estimates ``I(z_x; z_y)``. By data processing
``I(z_x; z_y) <= I(X; Y)``: the estimate is (up to KSG's own error) a lower bound, tight when
the latents keep the shared information, which the cross-prediction loss encourages.

Training, as the reference code (``ggdna/latentmi``) does it, with our own smaller networks:

* the loss is ``MSE(D_x(z_x), x) + MSE(D_y(z_y), y) + MSE(C_x(z_y), x) + MSE(C_y(z_x), y)``
  (self-reconstruction plus cross-prediction, weights 1 and 1; the cross decoders use dropout
  0.5), on standardized variables clipped to +-10;
* the pairs are split at random in half (:data:`TRAIN_FRACTION`): the autoencoders train on the
  first half with Adam, and the epoch with the lowest loss on the second half is kept (early
  stopping after :data:`PATIENCE` epochs without improvement);
* KSG (k = 3) runs on the latents of the held-out half only, so no pair the encoders saw is
  counted.

The interval comes from disjoint subsampling (Holmes & Nemenman 2019): the held-out latents are
cut into ``k = 2, 3, 4`` disjoint parts; with the KSG variance falling like ``1 / N``, each
spread ``Var_k`` of the estimates on ``N/k`` rows gives ``Var(N) = Var_k / k``; their pooled
value gives the standard error and a t interval. The bootstrap is not used: duplicated points
read as zero distances and bias KSG upwards.

References
----------
G. Gowri, X. Lun, A. M. Klein and P. Yin, "Approximating mutual information of high-dimensional
variables using learned representations", NeurIPS 2024.
C. M. Holmes and I. Nemenman, "Estimation of mutual information for real-valued data with error
bars and controlled bias", Phys. Rev. E 100 (2019) 022404.
A. Kraskov, H. Stoegbauer and P. Grassberger, Phys. Rev. E 69 (2004) 066138.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor, nn

from infolens._standardize import standardize
from infolens._validation import check_float, check_int, check_seed, fail
from infolens.estimators.knn import mi_ksg
from infolens.estimators.neural import _as_tensor, progress_bar, resolve_device

#: Fraction of the pairs the autoencoders train on; the rest stops training and feeds KSG.
TRAIN_FRACTION = 0.5
#: Epochs without a lower held-out loss before training stops.
PATIENCE = 10
#: Latent coordinates per side by default (the reference's default ``N_dims``), at most d.
DEFAULT_LATENT = 8
#: Disjoint-subsample counts behind the Holmes-Nemenman error bar.
SUBSAMPLE_COUNTS = (2, 3, 4)
#: Fewest held-out pairs (4 disjoint parts of at least 5 pairs for a k = 3 KSG).
MIN_HELD_OUT = 20
#: Standardized values are clipped to this magnitude (as the reference does).
CLIP = 10.0


def _mlp(n_in: int, hidden: int, n_out: int, dropout: float = 0.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in ((n_in, hidden), (hidden, hidden)):
        layers += [nn.Dropout(dropout)] if dropout else []
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    layers += [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(hidden, n_out))


class CrossPredictiveAutoencoder(nn.Module):
    """Two autoencoders whose latents also predict the other variable (Gowri et al. 2024).

    Parameters
    ----------
    x_dim, y_dim : int
        Input dimensions.
    latent_x, latent_y : int
        Latent coordinates of each side.
    hidden : int
        Width of the two hidden layers of every encoder and decoder.
    """

    def __init__(self, x_dim: int, y_dim: int, latent_x: int, latent_y: int, hidden: int = 128) -> None:
        super().__init__()
        self.encode_x, self.encode_y = _mlp(x_dim, hidden, latent_x), _mlp(y_dim, hidden, latent_y)
        self.decode_x, self.decode_y = _mlp(latent_x, hidden, x_dim), _mlp(latent_y, hidden, y_dim)
        self.predict_x = _mlp(latent_y, hidden, x_dim, dropout=0.5)
        self.predict_y = _mlp(latent_x, hidden, y_dim, dropout=0.5)

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        """Self-reconstruction plus cross-prediction mean squared error."""
        zx, zy = self.encode_x(x), self.encode_y(y)
        mse = nn.functional.mse_loss
        return (mse(self.decode_x(zx), x) + mse(self.decode_y(zy), y)
                + mse(self.predict_x(zy), x) + mse(self.predict_y(zx), y))


def _holmes_nemenman(zx: Tensor, zy: Tensor, k: int, gen: torch.Generator) -> tuple[float, int]:
    """Standard error of KSG on all rows from disjoint subsamples, and its degrees of freedom."""
    n = zx.shape[0]
    pooled, dof = 0.0, 0
    for count in SUBSAMPLE_COUNTS:
        order = torch.randperm(n, generator=gen).to(zx.device)
        values = np.array([mi_ksg(zx[rows], zy[rows], k=k) for rows in order.tensor_split(count)])
        pooled += float(values.var(ddof=1)) / count * (count - 1)  # Var(N) = Var(N/count) / count
        dof += count - 1
    return math.sqrt(pooled / dof), dof


def mi_latent(x: Any, y: Any, *, latent_dim: int | None = None, epochs: int = 200,
              batch_size: int = 256, lr: float = 1e-3, hidden: int = 128, k: int = 3,
              device: Any = None, seed: int = 0, level: float = 0.95,
              progress: Any = None) -> tuple[float, dict[str, Any]]:
    """Latent MI in nats: KSG on cross-predictive autoencoder latents of held-out pairs.

    Parameters
    ----------
    x, y : array-like or tensor of shape (n,) or (n, d), n >= 40
        Paired samples; tensors keep their device (training and KSG run there).
    latent_dim : int, optional
        Latent coordinates per side; default ``min(8, d)`` for each side. An explicit value
        larger than both dimensions raises (nothing to compress); a side with fewer dimensions
        gets ``d`` latent coordinates.
    epochs : int
        Largest number of passes over the training half (early stopping usually ends sooner).
    batch_size, lr, hidden : int, float, int
        Adam minibatch and learning rate; width of the hidden layers.
    k : int
        Neighbours of the KSG estimate on the latents.
    device : str or torch.device, optional
        Defaults to the device of a tensor input, else CPU.
    seed : int
        Seeds the split, the initialization, the minibatches and the subsamples.
    level : float
        Confidence level of the interval.
    progress : tqdm-like or bool, optional
        Updated by the steps of each epoch; None shows a tqdm bar on a terminal when the
        epochs' steps exceed :data:`~infolens.estimators.neural.PROGRESS_STEPS`.

    Returns
    -------
    value : float
    details : dict
        ``ci_low``, ``ci_high``, ``standard_error`` (nats), ``latent_x``, ``latent_y``,
        ``epochs_run``, ``best_epoch``, ``split`` (text), ``training`` (text: optimizer settings
        and the kept model's held-out loss) and ``flags`` (empty).
    """
    fn = "mi_latent"
    epochs = check_int("epochs", epochs, fn, minimum=1)
    batch_size = check_int("batch_size", batch_size, fn, minimum=2)
    hidden = check_int("hidden", hidden, fn, minimum=1)
    k = check_int("k", k, fn, minimum=1)
    seed = check_seed("seed", seed, fn)
    lr = check_float("lr", lr, fn, minimum=0.0, strict_minimum=True)
    level = check_float("level", level, fn, minimum=0.0, maximum=1.0, strict_minimum=True)
    dev = resolve_device(device, fn, x, y)
    xt, yt = _as_tensor(x, dev), _as_tensor(y, dev)
    n, dx, dy = xt.shape[0], xt.shape[1], yt.shape[1]
    if yt.shape[0] != n:
        raise fail("y", fn, "as many rows as x", got=f"{yt.shape[0]} and {n} rows")
    if latent_dim is None:
        latent_x, latent_y = min(DEFAULT_LATENT, dx), min(DEFAULT_LATENT, dy)
    else:
        latent_dim = check_int("latent_dim", latent_dim, fn, minimum=1, maximum=max(dx, dy))
        latent_x, latent_y = min(latent_dim, dx), min(latent_dim, dy)
    need = math.ceil(max(MIN_HELD_OUT, (k + 2) * max(SUBSAMPLE_COUNTS)) / (1 - TRAIN_FRACTION))
    if n < need:
        raise fail("x", fn, f"at least {need} paired samples (half train the autoencoders, the "
                   f"held-out half is cut into {max(SUBSAMPLE_COUNTS)} disjoint KSG subsamples)",
                   got=f"{n} samples")
    n_train = int(n * TRAIN_FRACTION)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=gen).to(dev)
    train, held = order[:n_train], order[n_train:]
    x_train, x_held = (t.clamp(-CLIP, CLIP).float() for t in standardize(xt[train], xt[held]))
    y_train, y_held = (t.clamp(-CLIP, CLIP).float() for t in standardize(yt[train], yt[held]))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CrossPredictiveAutoencoder(dx, dy, latent_x, latent_y, hidden).to(dev)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        batch = min(batch_size, n_train)
        best = (math.inf, 0, {k_: v.clone() for k_, v in model.state_dict().items()})
        epoch, waited = 0, 0
        per_epoch = math.ceil(n_train / batch)
        with progress_bar(progress, epochs * per_epoch, "latent MI autoencoder") as bar:
            for epoch in range(1, epochs + 1):
                model.train()
                for rows in torch.randperm(n_train, generator=gen).to(dev).split(batch):
                    loss = model.loss(x_train[rows], y_train[rows])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                model.eval()
                with torch.no_grad():
                    held_loss = float(model.loss(x_held, y_held))
                if bar is not None:
                    bar.update(per_epoch)
                if held_loss < best[0]:
                    state = {k_: v.clone() for k_, v in model.state_dict().items()}
                    best, waited = (held_loss, epoch, state), 0
                else:
                    waited += 1
                    if waited >= PATIENCE:
                        break
    model.load_state_dict(best[2])
    with torch.no_grad():
        zx, zy = model.encode_x(x_held).double(), model.encode_y(y_held).double()
    value = mi_ksg(zx, zy, k=k)
    se, dof = _holmes_nemenman(zx, zy, k, gen)
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    return value, {
        "ci_low": value - half, "ci_high": value + half, "standard_error": se,
        "latent_x": latent_x, "latent_y": latent_y, "epochs_run": epoch, "best_epoch": best[1],
        "split": f"{n_train} train (autoencoders) / {n - n_train} held out (early stopping, KSG)",
        "training": f"Adam lr={lr:g}, batch {batch}, hidden {hidden}, up to {epochs} epochs, "
                    f"patience {PATIENCE}, kept held-out MSE {best[0]:.4g}, KSG k={k}",
        "flags": (),
    }
