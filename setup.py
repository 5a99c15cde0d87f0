"""Build of the optional compiled kernel; all other metadata is in pyproject.toml.

``optional=True``: where no C compiler is found the install still succeeds and infolens counts
with scikit-learn's KD-tree instead (same counts, slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("infolens.estimators._maxnorm", ["src/infolens/estimators/_maxnorm.c"],
                             extra_compile_args=["-O3", "-ffp-contract=off"], optional=True)])
