"""The main job: the information plane of the reference network, tanh against ReLU, over seeds.

Three steps, each in its own module, meet in a run directory:

* :mod:`~infolens.experiments.plane.config`: the settings (:class:`PlaneRunConfig`), the files of
  a run directory, and the rules of a resumed run;
* :mod:`~infolens.experiments.plane.run`: ``train_and_record`` trains every activation and seed
  together and records the information plane and the metrics into ``store.sqlite``, with
  weight snapshots and checkpoints;
* :mod:`~infolens.experiments.plane.analysis`: :func:`analyze` measures everything the report
  shows (summary and checks, compression and phases, estimator sensitivity, probes and maps)
  and stores it.

The report (:func:`infolens.report.plane.build_report`, ``infolens report DIR``) reads those files
and shows them; it never trains or estimates. :func:`infolens.jobs.run_plane` runs the three and
then the report.
"""

from infolens.experiments.plane.analysis import analyze, load_run, summarize
from infolens.experiments.plane.config import DEFAULT_BIN_WIDTH, PlaneRunConfig

__all__ = ["DEFAULT_BIN_WIDTH", "PlaneRunConfig", "analyze", "load_run", "summarize"]
