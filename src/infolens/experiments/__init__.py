"""Built-in experiments: the main job (the information plane of the reference network, see
:mod:`infolens.experiments.plane_run`) and other studies built on the library."""
