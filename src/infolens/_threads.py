"""One way to change torch's CPU thread count for a block and always restore it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from infolens._validation import check_int

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int, fn: str = "torch_threads") -> Iterator[int]:
    """Run the ``with`` block with ``torch.set_num_threads(n)``; restore the previous count after.

    Small networks on a shared CPU run fastest with one thread (more threads only add contention).
    ``fn`` names the caller in the error message for a bad ``n``.
    """
    import torch

    n = check_int("threads", n, fn, minimum=1)
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(previous)
