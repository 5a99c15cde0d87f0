"""Information measures estimated from samples.

The public entry points are :func:`estimate_entropy`, :func:`estimate_mi` and
:func:`estimate_cmi`; each method lives in its own module and is chosen with ``method=``.
"""

from infolens.estimators.api import METHODS, estimate_cmi, estimate_entropy, estimate_mi

__all__ = ["METHODS", "estimate_cmi", "estimate_entropy", "estimate_mi"]
