"""Behaviour the sandbox emulates where moto only accepts calls: one package per AWS service, as moto does.

moto stores what a call creates and answers with real-looking ids; it does not *run* anything. The sandbox's
moto server is wrapped by :class:`~.gateway.Gateway`, a WSGI layer that sees every request first and gives the
services below the chance to behave as AWS would:

* :mod:`.sagemaker.pipelines` - ``StartPipelineExecution`` executes the definition the program registered, step by
  step (Processing and Training steps as local processes under the SageMaker container contract, property
  references, JsonGet/Condition/Fail, RegisterModel into moto's registry, SageMaker's cache-key rules, its input
  errors); ``DescribePipelineExecution``/``ListPipelineExecutions`` report the real status and
  ``ListPipelineExecutionSteps`` (which moto lacks) the steps.
* :mod:`.events` - EventBridge: ``PutEvents`` and the service events the emulation produces (model package state
  changes, alarm state changes) are matched against the rules' patterns and delivered to their targets.
* :mod:`.iam` - requests signed with credentials moto's STS issued for a role are evaluated against that role's
  identity policies with moto's own policy evaluator, so each actor calls as itself (CI, pipeline jobs, triggers).

What is not emulated is said where it matters (step metadata, ``ladder demo`` notes), never faked.
"""
