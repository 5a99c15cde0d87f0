"""Offline data: the Shwartz-Ziv & Tishby 12-bit task, MNIST-1D, digits, and Gaussians with known MI."""

from infolens.data.datasets import DATASETS, Split, digits, load, mnist1d, split
from infolens.data.synthetic import correlated_gaussians, gaussian_entropy
from infolens.data.szt12 import szt12

__all__ = ["DATASETS", "Split", "correlated_gaussians", "digits", "gaussian_entropy", "load", "mnist1d",
           "split", "szt12"]
