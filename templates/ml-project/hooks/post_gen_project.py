"""Prune the generated project to its maturity level.

This is the ONE place that decides which files exist at which level: every path below is kept only when
the project's maturity level is at least the level next to it. Paths not listed exist at every level.
"""

import os
import shutil
import sys
from pathlib import Path

LEVEL = int("{{ cookiecutter.maturity_level }}".strip())

# path (relative to the project root) -> minimum maturity level
MIN_LEVEL = {
    # 1: DevOps, no MLOps - a serving container, CI that tests and pushes the image
    ".github/workflows/ci.yml": 1,
    ".github/dependabot.yml": 1,  # action SHAs and pip pins kept current (there are workflows from level 1)
    ".dockerignore": 1,
    "Dockerfile": 1,
    "requirements-serving.txt": 1,  # the serving image's hash-locked dependencies
    "serving": 1,
    "tests/test_serving.py": 1,
    # 2: automated training - the platform's pipeline runs this repo's step code
    "contract.py": 2,  # reads the project contract (SSM) for run_pipeline and the level-4 monitoring scripts
    "pipelines": 2,
    "tests/test_run_pipeline.py": 2,
    # 3: automated deployment - approved packages are deployed and smoke-tested
    "deploy": 3,
    "tests/test_deploy.py": 3,
    # 4: full automated operations - drift baseline and local drift check
    "monitoring": 4,
    "tests/test_monitoring.py": 4,
}


def fail(message):
    print(f"ERROR: {message}", file=sys.stderr)
    error_file = os.environ.get("LADDER_HOOK_ERROR_FILE")
    if error_file:
        with open(error_file, "w", encoding="utf-8") as fh:
            fh.write(message)
    sys.exit(1)


def main():
    root = Path.cwd()
    for rel, minimum in MIN_LEVEL.items():
        if LEVEL >= minimum:
            continue
        path = root / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            fail(f"template bug: {rel} is listed in MIN_LEVEL but is not in the template")
    # drop directories left empty by the pruning (e.g. .github/workflows at level 0)
    for directory in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(directory.iterdir()):
            directory.rmdir()


if __name__ == "__main__":
    main()
