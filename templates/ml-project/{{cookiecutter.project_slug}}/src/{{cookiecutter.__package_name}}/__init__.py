"""{{ cookiecutter.project_name }}: step code for preprocess -> train -> evaluate.

Each step module is also a script the platform's SageMaker pipeline runs from the project's code prefix: a
processing job downloads its one script, so preprocess.py and evaluate.py import nothing from this package
(evaluate.py scores through the model artefact's own code/predictor.py); the training job gets every step file
(sourcedir.tar.gz), so train.py imports its siblings (schema, predictor, evaluate, config).
"""

__version__ = "0.1.0"
