"""mlops-ladder Pulumi program: load the stack spec, build the platform, export outputs.

``pulumi up`` runs this with the stack's config (stacks/Pulumi.<stack>.yaml); ``ladder plan`` and the
sandbox run the very same file under Pulumi mocks.
"""

import pulumi

from modules import platform, spec

try:
    stack_spec = spec.from_pulumi()
except spec.SpecError as exc:
    raise pulumi.RunError(str(exc)) from None

built = platform.build(stack_spec)
for key, value in built.outputs.items():
    pulumi.export(key, value)
