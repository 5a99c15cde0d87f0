"""Offline data: the Shwartz-Ziv & Tishby 12-bit task, MNIST-1D, digits, and Gaussians with known MI."""

from infolens.data.synthetic import correlated_gaussians, gaussian_entropy

__all__ = ["correlated_gaussians", "gaussian_entropy"]
