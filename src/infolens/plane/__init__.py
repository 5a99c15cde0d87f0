"""The information plane: I(X;T) and I(T;Y) of every layer over training.

:class:`InformationPlane` records it in any training loop; :class:`PlaneResult` holds the
measurements, their fitting and compression phases, compression scores and data-processing
checks; :func:`sensitivity` re-estimates stored activations under several estimators;
:class:`Schedule` says when to record. Which estimator made a plane changes what it shows:
see :mod:`infolens.plane.estimate`.
"""

from infolens.plane.estimate import ESTIMATORS
from infolens.plane.result import COLUMNS, PlaneResult
from infolens.plane.schedule import Schedule, make_schedule
from infolens.plane.sensitivity import SensitivityResult, sensitivity
from infolens.plane.tracker import InformationPlane, run_layers

__all__ = ["COLUMNS", "ESTIMATORS", "InformationPlane", "PlaneResult", "Schedule", "SensitivityResult",
           "make_schedule", "run_layers", "sensitivity"]
