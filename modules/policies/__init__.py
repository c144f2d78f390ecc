"""Policy pack (CrossGuard format) and offline runner over the plan graph.

- ``rules.py``: every rule once, as plain functions (standard library only).
- ``pack.py``: the rules as pulumi_policy policies; ``__main__.py`` serves them to ``pulumi preview
  --policy-pack modules/policies``.
- ``runner.py``: ``run_checks(graph, spec)`` for ``ladder check`` (same policy objects, offline).
- ``cli.py``: ``register(app)`` adds the ``check`` command to the ``ladder`` app.

Kept import-light on purpose: the policy pack imports this package in its own interpreter.
"""
