"""Built-in experiments: the main job (the information plane of the reference network, see
:mod:`infolens.experiments.plane`), the VIB beta sweep and exact SZT IB curve of ``infolens ib``
(:mod:`infolens.experiments.vib_sweep`), and other studies built on the library."""
