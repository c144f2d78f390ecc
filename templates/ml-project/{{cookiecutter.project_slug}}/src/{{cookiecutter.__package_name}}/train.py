"""Train step in SageMaker script mode.

SageMaker sets SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION and SM_MODEL_DIR and passes hyperparameters as
command-line flags; locally the same flags can be given explicitly:

    python train.py --train build/train --validation build/validation --model-dir build/model

Writes <model-dir>/model.joblib: a scikit-learn Pipeline (scaler + logistic regression) fitted on a
DataFrame, so it knows its feature names, and <model-dir>/code/inference.py: the serving hooks, so the
model.tar.gz SageMaker packs from the model dir carries its own inference code (the registered package runs
SAGEMAKER_PROGRAM=inference.py from SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code).
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MODEL_FILE = "model.joblib"
CODE_DIR = "code"  # inside the model dir, i.e. /opt/ml/model/code once SageMaker extracts model.tar.gz
# what the serving container needs in code/: inference.py imports nothing else of this package
INFERENCE_FILES = ("inference.py",)


def read_channel(directory) -> tuple[pd.DataFrame, pd.Series]:
    """Features and label (first column) from every CSV in a channel directory."""
    files = sorted(Path(directory).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {directory}")
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    return frame.iloc[:, 1:], frame.iloc[:, 0].astype(int)


def build_model(c: float = 1.0, max_iter: int = 1000):
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))


def run(train_dir, model_dir, validation_dir=None, c: float = 1.0, max_iter: int = 1000) -> Path:
    x_train, y_train = read_channel(train_dir)
    model = build_model(c, max_iter).fit(x_train, y_train)
    if validation_dir and Path(validation_dir).is_dir() and any(Path(validation_dir).glob("*.csv")):
        x_val, y_val = read_channel(validation_dir)
        # printed in a form a SageMaker metric definition can match: validation:auc=([0-9.]+)
        print(f"validation:auc={roc_auc_score(y_val, model.predict_proba(x_val)[:, 1]):.6f}")
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    path = Path(model_dir) / MODEL_FILE
    joblib.dump(model, path)
    print(f"train: model -> {path}")
    code = package_inference_code(model_dir)
    print(f"train: inference code -> {code}")
    return path


def package_inference_code(model_dir) -> Path:
    """Copy the serving hooks into <model_dir>/code/ (one artefact: model and the code that serves it)."""
    target = Path(model_dir) / CODE_DIR
    target.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for name in INFERENCE_FILES:
        shutil.copyfile(here / name, target / name)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--max-iter", type=int, default=1000)
    args, _ = parser.parse_known_args(argv)  # SageMaker may pass extra flags
    if not args.train or not args.model_dir:
        parser.error("--train and --model-dir are required (or SM_CHANNEL_TRAIN and SM_MODEL_DIR)")
    run(args.train, args.model_dir, args.validation, c=args.C, max_iter=args.max_iter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
