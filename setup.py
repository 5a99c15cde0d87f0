"""Build of the optional compiled k-NN kernels; all other metadata is in pyproject.toml.

``optional=True``: where no C compiler is found the install still succeeds and infolens searches
with scipy's and scikit-learn's trees instead (same results, slower). ``-ffp-contract=off``: no
fused multiply-adds, so Euclidean distances round exactly as numpy's do.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("infolens.estimators._knn_kernels", ["src/infolens/estimators/_knn_kernels.c"],
                             extra_compile_args=["-O3", "-ffp-contract=off"], optional=True)])
