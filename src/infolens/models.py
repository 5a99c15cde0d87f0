"""Reference networks of the built-in experiments, and a stack of them trained in one pass.

:class:`ReferenceMLP` is the fully connected network of Shwartz-Ziv & Tishby (2017), by default
12-10-7-5-4-3-2. :class:`StackedMLP` holds M such networks (different seeds and activations) as
batched weights ``(M, in, out)`` so that one ``torch.baddbmm`` per layer runs all of them: small
networks leave a CPU idle between tiny kernels, and stacking them amortises that overhead (see
``benchmarks/training.py``). Member ``i`` starts from exactly the weights that
``torch.manual_seed(seeds[i]); ReferenceMLP(widths, activations[i])`` draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from infolens._validation import check_choice, check_int, fail

#: Activation name -> module class used in the hidden blocks.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity,
}
def _identity(z: torch.Tensor) -> torch.Tensor:
    return z


_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": _identity,
}

#: Widths of the reference network for each built-in data set (input ... classes).
REFERENCE_WIDTHS: dict[str, tuple[int, ...]] = {
    "szt12": (12, 10, 7, 5, 4, 3, 2),
    "mnist1d": (40, 100, 50, 30, 20, 10),
    "digits": (64, 50, 30, 20, 10),
}

SZT_WIDTHS = REFERENCE_WIDTHS["szt12"]


def reference_widths(dataset: str) -> tuple[int, ...]:
    """Widths of the reference MLP for a built-in data set (``"szt12"``, ``"mnist1d"``, ``"digits"``)."""
    return REFERENCE_WIDTHS[check_choice("dataset", dataset, tuple(REFERENCE_WIDTHS), "reference_widths")]


def _check_widths(widths: Any, fn: str) -> tuple[int, ...]:
    try:
        values = tuple(widths)
    except TypeError as err:
        raise fail("widths", fn, "a sequence of at least two ints >= 1", widths) from err
    if len(values) < 2:
        raise fail("widths", fn, "a sequence of at least two ints >= 1", widths)
    return tuple(check_int("widths", w, fn, minimum=1) for w in values)


def _runs(values: Sequence[str]) -> list[tuple[str, int, int]]:
    """``[(value, start, count), ...]`` for each run of equal consecutive values."""
    out: list[tuple[str, int, int]] = []
    for i, value in enumerate(values):
        if out and out[-1][0] == value:
            out[-1] = (value, out[-1][1], out[-1][2] + 1)
        else:
            out.append((value, i, 1))
    return out


class ReferenceMLP(nn.Module):
    """A fully connected classifier; the default is the 12-10-7-5-4-3-2 network of Shwartz-Ziv & Tishby.

    Parameters
    ----------
    widths : sequence of int
        Input dimension, hidden widths, number of classes.
    activation : {"tanh", "relu", "sigmoid", "linear"}
        Nonlinearity of every hidden layer.

    Attributes
    ----------
    layers : nn.ModuleList
        ``layers.i`` for a hidden layer is ``nn.Sequential(nn.Linear, activation)`` (so capturing
        ``"layers.i"`` records the post-activation output); the last block is the ``nn.Linear``
        that produces the logits. Consumers apply the softmax for the output layer's information.

    Notes
    -----
    Weights use PyTorch's default ``nn.Linear`` initialisation, drawn in layer order from the
    global generator, so ``torch.manual_seed(s)`` before construction fixes them.

    References
    ----------
    R. Shwartz-Ziv and N. Tishby, "Opening the black box of deep neural networks via information",
    arXiv:1703.00810, 2017.
    """

    def __init__(self, widths: Sequence[int] = SZT_WIDTHS, activation: str = "tanh") -> None:
        super().__init__()
        fn = "ReferenceMLP"
        self.widths = _check_widths(widths, fn)
        self.activation = check_choice("activation", activation, tuple(ACTIVATIONS), fn)
        n_layers = len(self.widths) - 1
        blocks: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(self.widths[:-1], self.widths[1:], strict=True)):
            linear = nn.Linear(n_in, n_out)
            blocks.append(linear if i == n_layers - 1 else nn.Sequential(linear, ACTIVATIONS[activation]()))
        self.layers = nn.ModuleList(blocks)

    @property
    def layer_names(self) -> list[str]:
        """``["layers.0", ..., "layers.{n-1}"]``: every hidden layer and the output layer."""
        return [f"layers.{i}" for i in range(len(self.layers))]

    def linear(self, i: int) -> nn.Linear:
        """The ``nn.Linear`` of layer ``i``."""
        block = self.layers[i]
        return block if isinstance(block, nn.Linear) else block[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (B, classes) for inputs of shape (B, widths[0])."""
        for block in self.layers:
            x = block(x)
        return x

    def extra_repr(self) -> str:
        return f"widths={self.widths}, activation={self.activation!r}"


class StackedMLP(nn.Module):
    """M independent :class:`ReferenceMLP` networks with batched weights, run and trained together.

    Parameters
    ----------
    n_members : int
        Number of networks M.
    widths : sequence of int
        Shared architecture (input, hidden..., classes).
    activations : sequence of str, length M
        Hidden nonlinearity of each member (members may differ).
    seeds : sequence of int, length M
        Member ``i`` is initialised as ``torch.manual_seed(seeds[i]); ReferenceMLP(widths,
        activations[i])`` would be. The caller's global generator state is left untouched.

    Attributes
    ----------
    weights, biases : nn.ParameterList
        Layer ``l`` has weights of shape ``(M, in, out)`` (the transposed ``nn.Linear`` weight)
        and biases of shape ``(M, 1, out)``.
    layers : nn.ModuleList
        One parameter-free identity module per layer, ``layers.i``, that every member's output
        of layer ``i`` passes through (shape ``(M, B, width)``; hidden layers post-activation,
        the last one the logits), so :func:`infolens.capture` reads the stack by the same layer
        names as a :class:`ReferenceMLP`. Record it with
        ``InformationPlane.record(model, epoch, members=model.members)``.

    Notes
    -----
    The members share nothing but the computation: their gradients are independent, so one Adam
    optimizer over these parameters is M independent Adam optimizers (Adam is elementwise).
    """

    def __init__(self, n_members: int, widths: Sequence[int], activations: Sequence[str],
                 seeds: Sequence[int]) -> None:
        super().__init__()
        fn = "StackedMLP"
        self.n_members = check_int("n_members", n_members, fn, minimum=1)
        self.widths = _check_widths(widths, fn)
        self.activations = self._per_member("activations", activations, fn)
        for act in self.activations:
            check_choice("activations", act, tuple(ACTIVATIONS), fn)
        self.seeds = tuple(check_int("seeds", s, fn, minimum=0) for s in self._per_member("seeds", seeds, fn))
        with torch.random.fork_rng(devices=[]):
            members = []
            for act, seed in zip(self.activations, self.seeds, strict=True):
                torch.manual_seed(seed)
                members.append(ReferenceMLP(self.widths, act))
        n_layers = len(self.widths) - 1
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m.linear(i).weight.detach().T for m in members]).contiguous())
            for i in range(n_layers))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m.linear(i).bias.detach()[None, :] for m in members]))
            for i in range(n_layers))
        self.layers = nn.ModuleList(nn.Identity() for _ in range(n_layers))
        # runs of consecutive members with the same activation: (function, first member, count)
        self._runs = [(_FUNCTIONS[kind], start, count) for kind, start, count in _runs(self.activations)]

    def _per_member(self, name: str, values: Any, fn: str) -> tuple[Any, ...]:
        try:
            items = () if isinstance(values, str) else tuple(values)
        except TypeError:
            items = ()
        if len(items) != self.n_members:
            raise fail(name, fn, f"a sequence of length n_members={self.n_members}", values)
        return items

    @property
    def layer_names(self) -> list[str]:
        """``["layers.0", ..., "layers.{n-1}"]``, as in :class:`ReferenceMLP`."""
        return [f"layers.{i}" for i in range(len(self.weights))]

    @property
    def members(self) -> list[tuple[str, int]]:
        """``(activation, seed)`` of each member, in stacking order (the ``members`` of
        :meth:`infolens.InformationPlane.record`)."""
        return list(zip(self.activations, self.seeds, strict=True))

    def _activate(self, z: torch.Tensor) -> torch.Tensor:
        if len(self._runs) == 1:
            return self._runs[0][0](z)
        return torch.cat([f(z.narrow(0, start, count)) for f, start, count in self._runs])

    def _stack_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return x.unsqueeze(0).expand(self.n_members, *x.shape)
        if x.ndim == 3 and x.shape[0] == self.n_members:
            return x
        raise fail("x", "StackedMLP.forward", f"a tensor of shape (B, {self.widths[0]}) or "
                   f"({self.n_members}, B, {self.widths[0]})", x)

    def _run(self, x: torch.Tensor, keep: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self._stack_input(x)
        hidden: list[torch.Tensor] = []
        last = len(self.weights) - 1
        for i, (weight, bias, tap) in enumerate(zip(self.weights, self.biases, self.layers, strict=True)):
            z = torch.baddbmm(bias, h, weight)
            h = tap(self._activate(z) if i < last else z)
            if keep and i < last:
                hidden.append(h)
        return h, hidden

    def forward_with_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits ``(M, B, C)`` and one tensor ``(M, B, width)`` per entry of :attr:`layer_names`.

        Hidden layers are post-activation; the last entry is the softmax of the logits.
        """
        logits, hidden = self._run(x, keep=True)
        return logits, [*hidden, torch.softmax(logits, dim=-1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(M, B, C)`` for inputs ``(B, in)`` shared by all members or ``(M, B, in)``."""
        return self._run(x, keep=False)[0]

    def member(self, i: int) -> ReferenceMLP:
        """A standalone :class:`ReferenceMLP` with a copy of member ``i``'s current weights."""
        i = check_int("i", i, "StackedMLP.member", minimum=0, maximum=self.n_members - 1)
        with torch.random.fork_rng(devices=[]):
            model = ReferenceMLP(self.widths, self.activations[i])
        device = self.weights[0].device
        model.to(device=device, dtype=self.weights[0].dtype)
        with torch.no_grad():
            for layer, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
                model.linear(layer).weight.copy_(weight[i].T)
                model.linear(layer).bias.copy_(bias[i, 0])
        return model

    def extra_repr(self) -> str:
        return f"n_members={self.n_members}, widths={self.widths}, activations={self.activations}"


def reference_stack(dataset: str, members: Sequence[tuple[str, int]]) -> StackedMLP:
    """The reference network of ``dataset`` (:func:`reference_widths`), one member per
    ``(activation, seed)`` of ``members``, stacked in that order."""
    members = list(members)
    if not members:
        raise fail("members", "reference_stack", "a non-empty sequence of (activation, seed) pairs", members)
    return StackedMLP(len(members), reference_widths(dataset), [a for a, _ in members],
                      [s for _, s in members])


class DigitsCNN(nn.Module):
    """A small convolutional classifier of 28x28 digits: conv, batch norm, pooling, a residual block.

    ``stem`` = conv 3x3 (1 -> ``channels``) + batch norm + ReLU + 2x2 max pool (14x14);
    ``res`` = a residual block (two conv 3x3 + batch norm, identity shortcut, ReLU);
    ``pool`` = 2x2 max pool (7x7); ``head`` = linear layer to the logits.

    Parameters
    ----------
    channels : int
        Feature maps of every conv layer.
    n_classes : int
    side : int
        Input images are ``side x side``; inputs of shape (B, side * side) are reshaped.

    Attributes
    ----------
    layer_names : list of str
        ``["stem", "res", "pool", "head"]``: the feature maps (B, C, H, W) and the logits.
    """

    def __init__(self, channels: int = 8, n_classes: int = 10, side: int = 28) -> None:
        super().__init__()
        fn = "DigitsCNN"
        self.channels = c = check_int("channels", channels, fn, minimum=1)
        self.side = check_int("side", side, fn, minimum=4)
        n_classes = check_int("n_classes", n_classes, fn, minimum=2)
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.MaxPool2d(2))
        self.res = _ResidualBlock(c)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(c * (self.side // 4) ** 2, n_classes)
        self.layer_names = ["stem", "res", "pool", "head"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes) for images (B, side * side) or (B, 1, side, side)."""
        h = self.pool(self.res(self.stem(x.reshape(-1, 1, self.side, self.side))))
        return self.head(h.flatten(1))


class _ResidualBlock(nn.Module):
    """``relu(x + bn(conv(relu(bn(conv(x))))))`` with 3x3 convolutions (He et al. 2016)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class TokenTransformer(nn.Module):
    """A small transformer encoder that classifies sequences of token ids.

    ``embed`` = token embedding + learned position embedding (B, L, d); ``blocks.i`` = a
    pre-norm :class:`torch.nn.TransformerEncoderLayer` (self-attention with ``heads`` heads,
    feed-forward of width ``ff``, GELU, no dropout), each (B, L, d); ``pool`` = the mean over the
    tokens followed by layer norm (B, d); ``head`` = linear layer to the logits.

    Parameters
    ----------
    vocab : int
        Vocabulary size: inputs are integer ids in ``0 .. vocab - 1``.
    length : int
        Tokens per sequence (the position table's size).
    n_classes : int
    d_model, heads, ff, n_blocks : int
        Width, attention heads (``d_model`` divisible by them), feed-forward width and depth.

    Attributes
    ----------
    layer_names : list of str
        ``["embed", "blocks.0", ..., "pool", "head"]``.
    """

    def __init__(self, vocab: int = 16, length: int = 32, n_classes: int = 4, *, d_model: int = 64,
                 heads: int = 4, ff: int = 128, n_blocks: int = 2) -> None:
        super().__init__()
        fn = "TokenTransformer"
        self.vocab = check_int("vocab", vocab, fn, minimum=2)
        self.length = check_int("length", length, fn, minimum=1)
        n_classes = check_int("n_classes", n_classes, fn, minimum=2)
        d_model = check_int("d_model", d_model, fn, minimum=1)
        heads = check_int("heads", heads, fn, minimum=1)
        if d_model % heads:
            raise fail("heads", fn, f"a divisor of d_model = {d_model}", heads)
        self.tokens = nn.Embedding(self.vocab, d_model)
        self.positions = nn.Parameter(0.02 * torch.randn(self.length, d_model))
        self.embed = nn.Identity()
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, heads, check_int("ff", ff, fn, minimum=1), dropout=0.0,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(check_int("n_blocks", n_blocks, fn, minimum=1)))
        self.pool = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)
        self.layer_names = ["embed", *(f"blocks.{i}" for i in range(len(self.blocks))), "pool", "head"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes) for token ids (B, length) of an integer dtype."""
        h = self.embed(self.tokens(x) + self.positions)
        for block in self.blocks:
            h = block(h)
        return self.head(self.pool(h.mean(dim=1)))


class MemberStack(nn.Module):
    """M networks of any architecture held side by side, with the interface of :class:`StackedMLP`.

    For models that cannot be batched into one matrix product (convolutions, batch norm), this
    runs the members one after the other but lets :func:`infolens.training.train_members` train,
    checkpoint and resume them as one model, and :func:`infolens.plane.run_layers` record them
    with ``members=``.

    Parameters
    ----------
    build : callable ``() -> nn.Module``
        Builds one member (a classifier ``(B, in) -> logits (B, C)``); member ``i`` is built right
        after ``torch.manual_seed(seeds[i])`` (the caller's generator state is kept).
    seeds : sequence of int
    widths : (int, int)
        Input features and classes (what the trainer checks the data against).
    activation : str
        The name recorded for every member (e.g. ``"relu"``).

    Attributes
    ----------
    nets : nn.ModuleList
        The members; ``nets.i.<layer>`` reaches member ``i``'s layers.
    """

    def __init__(self, build: Callable[[], nn.Module], seeds: Sequence[int], widths: Sequence[int],
                 activation: str = "") -> None:
        super().__init__()
        fn = "MemberStack"
        self.seeds = tuple(check_int("seeds", s, fn, minimum=0) for s in seeds)
        if not self.seeds:
            raise fail("seeds", fn, "a non-empty sequence of ints >= 0", seeds)
        self.n_members = len(self.seeds)
        self.widths = _check_widths(widths, fn)
        self.activations = (str(activation),) * self.n_members
        nets = []
        with torch.random.fork_rng(devices=[]):
            for seed in self.seeds:
                torch.manual_seed(seed)
                nets.append(build())
        self.nets = nn.ModuleList(nets)

    @property
    def members(self) -> list[tuple[str, int]]:
        return list(zip(self.activations, self.seeds, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(M, B, C)`` for inputs ``(B, ...)`` shared by all members or ``(M, B, ...)``."""
        if x.ndim == 3 and x.shape[0] == self.n_members:
            return torch.stack([net(x[m]) for m, net in enumerate(self.nets)])
        return torch.stack([net(x) for net in self.nets])
