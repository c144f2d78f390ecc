"""The local AWS sandbox: the real Pulumi program applied into moto through boto3.

* :mod:`.aws`      - boto3 clients for the moto endpoint; every operation emulated in moto or, where moto lacks
                     it, validated by botocore and recorded ("validated, not emulated"); input conversion.
* :mod:`.handlers` - ``HANDLERS``: resource type -> create/delete(/retag), the one table of supported types.
* :mod:`.engine`   - ``SandboxMocks``: the Pulumi mocks that realise each declared resource.
* :mod:`.state`    - the state file, ``apply`` (idempotent) and ``destroy``.
* :mod:`.server`   - the moto server (``ladder sandbox serve``, or embedded for one command).
* :mod:`.cli`      - ``register(app)``: ``ladder up/down --sandbox`` and ``ladder sandbox serve``.
"""
