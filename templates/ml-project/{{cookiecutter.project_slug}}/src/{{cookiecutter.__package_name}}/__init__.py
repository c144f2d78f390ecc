"""{{ cookiecutter.project_name }}: step code for preprocess -> train -> evaluate.

Each step module is also a standalone script (it imports nothing from this package), because the
platform's SageMaker pipeline runs the files uploaded to the project's code prefix one by one.
"""

__version__ = "0.1.0"
