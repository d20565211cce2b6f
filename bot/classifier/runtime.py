"""One classifier per process: loaded on first use, trained first if no model exists yet."""
from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path
from typing import Callable

from bot.classifier import datasets
from bot.classifier.model import ModelError, ModelVersionError, SectorClassifier, train_on_records

log = logging.getLogger(__name__)

_lock = threading.Lock()
_loaded: dict[tuple[str, str], SectorClassifier] = {}


def train_default(model_path: Path, secret: str, progress: Callable[[str], None] = log.info) -> SectorClassifier:
    """Train on training_data/train.jsonl (the frozen test split is never used) and save."""
    records = datasets.load_labelled(datasets.TRAIN)
    model, _report = train_on_records(records, progress=progress)
    model.save(model_path, secret)
    return model


def is_loaded(model_path: Path, secret: str) -> bool:
    return (str(model_path), secret) in _loaded


def get_classifier(model_path: Path, secret: str, train_if_missing: bool = True) -> SectorClassifier:
    """The process-wide model; a missing model is trained once (a file lock keeps other processes waiting)."""
    key = (str(model_path), secret)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        model_path = Path(model_path)
        model_path.parent.mkdir(parents=True, exist_ok=True)
        with open(model_path.with_suffix(".lock"), "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                model = SectorClassifier.load(model_path, secret)
            except ModelVersionError:
                raise
            except ModelError:
                if not train_if_missing or model_path.exists():
                    raise
                log.warning("no model at %s: training one now (first start)", model_path)
                model = train_default(model_path, secret)
        _loaded[key] = model
        return model
