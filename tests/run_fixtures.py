"""Finished-run folders written directly (result.json + scores.npz with known scores), no training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zsbench.metrics import METRICS_VERSION, evaluate
from zsbench.results import write_json, write_scores

CLASSES = ["Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
           "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia"]
PAPER_UNSEEN = ["Edema", "Pneumonia", "Emphysema", "Fibrosis"]


def scores_and_labels(n: int, rng_seed: int, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """n x 14 labels (about 15% positive, a few unknown) and scores that carry ``signal`` about them;
    scores are rounded to 2 decimals so ties happen."""
    rng = np.random.default_rng(rng_seed)
    labels = (rng.random((n, len(CLASSES))) < 0.15).astype(np.float32)
    labels[:3] = 1.0  # every class has positives ...
    labels[3:6] = 0.0  # ... and negatives
    scores = np.round(signal * labels + rng.normal(size=labels.shape), 2).astype(np.float32)
    labels[rng.random(labels.shape) < 0.02] = np.nan
    labels[:6] = np.nan_to_num(labels[:6])
    return scores, labels


def make_run(root: Path, run_id: str, *, method: str = "cxr-ml-gzsl", seed: int = 0, n: int = 120,
             rng_seed: int | None = None, unseen: list[str] | None = None, split_name: str = "synthetic-paper",
             random_split: bool = False, zero_shot: bool = True, backbone: str = "tiny-cnn",
             text_encoder: str = "minilm", ks: tuple[int, ...] = (2, 3), signal: float = 1.0,
             trained_on_labels: bool | None = None, epochs: int | None = None) -> Path:
    """A run folder as `zsbench run` leaves it (the fields readers use), metrics from evaluate()."""
    unseen = list(unseen or PAPER_UNSEEN)
    seen = [c for c in CLASSES if c not in unseen]
    scores, labels = scores_and_labels(n, seed * 1000 + n if rng_seed is None else rng_seed, signal)
    metrics = evaluate(scores, labels, [CLASSES.index(c) for c in seen], [CLASSES.index(c) for c in unseen], ks=ks)
    generator = ({"kind": "random", "seed": 0, "index": 0, "n_unseen": len(unseen)} if random_split
                 else {"kind": "manual"})
    result = {
        "schema_version": 1,
        "zsbench_version": "0.1.0",
        "run_id": run_id,
        "config": {"dataset": "synthetic", "split": split_name, "method": method, "backbone": backbone,
                   "text_encoder": text_encoder, "class_text": "description", "seed": seed, "ks": list(ks)},
        "dataset": {"name": "synthetic", "n_images": 1000, "image_size": 32, "seed": 0},
        "class_split": {"name": split_name, "dataset": "synthetic", "seen": seen, "unseen": unseen,
                        "generator": generator},
        "classes": {"all": CLASSES, "seen": seen, "unseen": unseen, "texts": None},
        "zero_shot": zero_shot,
        "method": {"name": method},
        "metrics_version": METRICS_VERSION,
        "metrics": metrics,
    }
    if epochs is not None:
        result["config"]["epochs"] = epochs
    if trained_on_labels is not None:  # absent from results written before training-free methods
        result["trained_on_labels"] = trained_on_labels
    run_dir = root / run_id
    write_scores(run_dir / "scores.npz", np.array([f"img{i}" for i in range(n)]), CLASSES, scores, labels)
    write_json(run_dir / "result.json", result)
    return run_dir
