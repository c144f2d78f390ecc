"""CrossGuard entry point: ``pulumi preview --policy-pack modules/policies`` (or ``pulumi up``).

Pulumi runs this file as ``__main__``; ``PolicyPack(...)`` then serves the policies over gRPC until the
engine stops it. Importing the module (tests, ``ladder``) only defines :func:`main` and serves nothing.
"""

import sys
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:  # the engine starts us from the pack directory
    sys.path.insert(0, str(_REPO_ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from modules.policies.pack import DESCRIPTION, PACK_NAME, build_policies  # noqa: E402


def main() -> PolicyPack:
    return PolicyPack(
        name=PACK_NAME,
        policies=build_policies(),
        enforcement_level=EnforcementLevel.ADVISORY,  # each rule sets its own level (mandatory/advisory)
        description=DESCRIPTION,
        display_name="mlops-ladder guardrails",
        provider="aws",
        tags=["aws", "sagemaker", "mlops"],
    )


if __name__ == "__main__":
    main()
