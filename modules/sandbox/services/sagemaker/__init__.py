"""SageMaker behaviour: pipeline executions (:mod:`.pipelines`) and the job containers they run (:mod:`.jobs`)."""
