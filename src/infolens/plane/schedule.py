"""When to record the information plane: every epoch, every n epochs, log-spaced, or listed epochs.

Fitting happens fast at the start of training and compression (when there is any) slowly over
many epochs, so log-spaced recording (Shwartz-Ziv & Tishby 2017 record more densely early on)
spends the estimation budget where the plane moves most.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from infolens._validation import check_int, fail

_KINDS = "'every', 'log', an int >= 1, a list of epochs >= 0, or a Schedule"


class Schedule:
    """A set of epochs at which to record.

    Parameters
    ----------
    kind : "every", "log", int or iterable of int
        ``"every"``: all epochs; an int ``n``: epochs 0, n, 2n, ...; ``"log"``: 0 and the
        epochs ``round(10 ** (j / n_points))`` for j = 0, 1, ... (about ``n_points`` per decade,
        duplicates removed); a list: exactly those epochs.
    last_epoch : int, optional
        The final epoch of training, when known. ``"log"`` and int schedules then always
        include it (so the end state of training is on the plane); epochs above it are never
        recorded.
    n_points : int
        Points per decade of a ``"log"`` schedule.

    Notes
    -----
    Epochs are non-negative integers; epoch 0 usually means "before the first update" or "after
    the first epoch", whichever the training loop calls 0.
    """

    def __init__(self, kind: Any = "every", *, last_epoch: int | None = None, n_points: int = 10):
        fn = "Schedule"
        self.last_epoch = None if last_epoch is None else check_int("last_epoch", last_epoch, fn,
                                                                     minimum=0)
        self.n_points = check_int("n_points", n_points, fn, minimum=1, maximum=MAX_POINTS)
        self._explicit: frozenset[int] | None = None
        if isinstance(kind, str):
            if kind not in ("every", "log"):
                raise fail("schedule", fn, _KINDS, kind)
            self.kind: str | int = kind
        elif isinstance(kind, numbers.Integral) and not isinstance(kind, bool):
            self.kind = check_int("schedule", kind, fn, minimum=1)
        elif isinstance(kind, Iterable):
            epochs = list(kind)
            if not epochs or any(isinstance(e, bool) or not isinstance(e, numbers.Integral) or e < 0
                                 for e in epochs):
                raise fail("schedule", fn, "a non-empty list of int epochs >= 0", kind)
            self.kind = "list"
            self._explicit = frozenset(int(e) for e in epochs)
        else:
            raise fail("schedule", fn, _KINDS, kind)

    def __repr__(self) -> str:
        kind = sorted(self._explicit) if self._explicit is not None else self.kind
        return f"Schedule({kind!r}, last_epoch={self.last_epoch}, n_points={self.n_points})"

    def should_record(self, epoch: int) -> bool:
        """Whether ``epoch`` is in the schedule."""
        epoch = check_int("epoch", epoch, "Schedule.should_record", minimum=0)
        if self.last_epoch is not None and epoch > self.last_epoch:
            return False
        if self._explicit is not None:
            return epoch in self._explicit
        if epoch == self.last_epoch or self.kind == "every":
            return True
        if isinstance(self.kind, int):
            return epoch % self.kind == 0
        return epoch == 0 or epoch in _log_epochs_up_to(epoch, self.n_points)

    __contains__ = should_record

    def epochs(self, last_epoch: int | None = None) -> list[int]:
        """The recorded epochs in ``0..last_epoch`` (default: the schedule's own ``last_epoch``)."""
        fn = "Schedule.epochs"
        last = self.last_epoch if last_epoch is None else check_int("last_epoch", last_epoch, fn,
                                                                     minimum=0)
        if last is None:
            if self._explicit is not None:
                return sorted(self._explicit)
            raise fail("last_epoch", fn, "an int >= 0 (the schedule has no last epoch)", None)
        if self.kind == "log" and self._explicit is None:  # about n_points per decade, not last + 1
            return sorted(e for e in {0, last, *_log_epochs_up_to(last, self.n_points)}
                          if self.should_record(e))
        return [e for e in range(last + 1) if self.should_record(e)]


#: Most points per decade of a "log" schedule (more is every epoch, several times over).
MAX_POINTS = 1000


def _log_epochs_up_to(epoch: int, n_points: int) -> set[int]:
    """``{round(10 ** (j / n_points))}`` for j = 0, 1, ... up to ``epoch``."""
    out = set()
    j = 0
    while True:
        value = round(10.0 ** (j / n_points))
        if value > epoch:
            return out
        out.add(value)
        j += 1


def make_schedule(schedule: Any, *, last_epoch: int | None = None, n_points: int = 10) -> Schedule:
    """Return ``schedule`` if it is a :class:`Schedule`, else build one from its description."""
    if isinstance(schedule, Schedule):
        return schedule
    return Schedule(schedule, last_epoch=last_epoch, n_points=n_points)


__all__ = ["Schedule", "make_schedule"]
