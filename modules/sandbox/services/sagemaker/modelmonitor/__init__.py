"""The Model Monitor analyzer (``sagemaker-model-monitor-analyzer``), emulated in pure Python (numpy/pandas).

* :mod:`.dataquality` - statistics.json, suggested constraints.json, the data-quality checks and their metrics;
* :mod:`.modelquality` - predictions merged with ground truth, the problem type's metrics, constraints, checks;
* :mod:`.capture` - reading SageMaker's capture and ground-truth JSON Lines;
* ``python -m modules.sandbox.services.sagemaker.modelmonitor`` (:mod:`.__main__`) - the container: what
  :mod:`..jobs` runs for a processing job with the analyzer image (a monitoring execution, a baselining job).
"""

from .dataquality import AnalyzerError, suggest_baseline  # noqa: F401
