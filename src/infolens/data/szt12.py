"""The 12-bit classification task of Shwartz-Ziv & Tishby (2017), rebuilt from its definition.

Each of the 4096 inputs is a 12-bit pattern; bit ``i`` switches on vertex ``v_i`` of a regular
icosahedron. The label asks whether the pattern is "large and lopsided": it is 1 exactly when the
number of active bits plus the Euclidean norm of the vector sum of the active vertices exceeds 7.6.
The vertices have unit edge length (the golden-ratio coordinates ``(0, ±1, ±phi)`` etc. divided
by 2). Rescaling to unit circumradius gives the same 4096 labels; the raw coordinates (edge 2) do
not. The labels are invariant under the 60 rotations of the icosahedron, which permute the bits.

Measured properties (pinned by the tests): 2118 of 4096 labels are 1, so ``H(Y) = 0.99916`` bits;
every pattern with fewer than 5 active bits is 0, with more than 7 is 1, and the fraction of ones
at 5, 6, 7 active bits is 7.58%, 57.58%, 92.42%. The smallest distance of a score from the
threshold is 0.018, so the float64 computation is unambiguous.

References
----------
R. Shwartz-Ziv and N. Tishby, "Opening the black box of deep neural networks via information",
arXiv:1703.00810, 2017.
"""

from __future__ import annotations

import numpy as np

#: Golden ratio.
PHI = (1.0 + 5.0**0.5) / 2.0

#: Vertex ``v_i`` of the icosahedron for bit ``i`` (row i), unit edge length.
ICOSAHEDRON = 0.5 * np.array([
    (0.0, -1.0, -PHI), (-1.0, -PHI, 0.0), (0.0, -1.0, PHI), (1.0, -PHI, 0.0),
    (-PHI, 0.0, 1.0), (0.0, 1.0, -PHI), (-1.0, PHI, 0.0), (1.0, PHI, 0.0),
    (PHI, 0.0, 1.0), (0.0, 1.0, PHI), (PHI, 0.0, -1.0), (-PHI, 0.0, -1.0),
])
ICOSAHEDRON.setflags(write=False)

#: Decision threshold on ``(active bits) + ||sum of active vertices||``.
THRESHOLD = 7.6

N_BITS = 12


def szt12_label(bits: np.ndarray) -> np.ndarray:
    """Labels of 0/1 patterns of shape (n, 12): 1 where ``sum(bits) + ||bits @ V|| > 7.6``."""
    bits = np.asarray(bits, dtype=np.float64)
    score = bits.sum(axis=1) + np.linalg.norm(bits @ ICOSAHEDRON, axis=1)
    return (score > THRESHOLD).astype(np.int64)


def szt12() -> tuple[np.ndarray, np.ndarray]:
    """All 4096 inputs and labels of the Shwartz-Ziv & Tishby 12-bit task.

    Returns
    -------
    x : ndarray of shape (4096, 12), float32
        Row ``n`` holds the binary digits of ``n``, most significant bit first (column 0).
    y : ndarray of shape (4096,), int64
        1 when the number of active bits plus the norm of the sum of the active icosahedron
        vertices (unit edge) exceeds 7.6, else 0. ``p(y=1) = 2118/4096``.

    Notes
    -----
    Deterministic and exhaustive: every input appears exactly once, so ``H(X) = 12`` bits and the
    information plane's I(X;T) is exactly ``H(T)`` for a deterministic network.
    """
    codes = np.arange(2**N_BITS)
    shifts = np.arange(N_BITS - 1, -1, -1)
    bits = (codes[:, None] >> shifts) & 1
    return bits.astype(np.float32), szt12_label(bits)
