"""Thin adapters to training frameworks; each is an optional extra imported only when used.

* :mod:`infolens.integrations.lightning`: ``InformationPlaneCallback`` for Lightning Trainers.
* :mod:`infolens.integrations.tensorboard`: write an information plane to TensorBoard.
"""
