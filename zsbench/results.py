"""Run results on disk: result.json, scores.npz and checkpoints, always written atomically."""

from __future__ import annotations

import functools
import io
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zsbench.errors import UsageError
from zsbench.result_schema import RESULT_SCHEMA_VERSION  # noqa: F401  (re-exported for readers)

ERROR_FILE = "error.txt"  # in the folder of a run that failed


def write_temp_file(folder: Path, prefix: str, data: bytes) -> Path:
    """``data`` in a new temporary file in ``folder``, flushed to disk, ready to be renamed or linked."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp_file(path.parent, f".{path.name}.", data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_folder(path: Path, flag: str = "output") -> None:
    """Create an output folder now, before any work, so that a bad one is a one-line error."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path} is a file, not a folder; choose a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the {flag} folder {path}: {exc.strerror or exc.__class__.__name__}; "
                         "choose another") from None


def write_error(run_dir: Path, message: str, details: str) -> Path:
    """``error.txt`` in a run folder whose run failed: the one-line error, then the traceback."""
    path = run_dir / ERROR_FILE
    atomic_write_bytes(path, f"{message}\n\n{details}".encode())
    return path


def clear_error(run_dir: Path) -> None:
    """A run that completed after an earlier failed attempt keeps no stale error.txt."""
    (run_dir / ERROR_FILE).unlink(missing_ok=True)


def _jsonable(value: Any) -> Any:
    """NaN and inf become null (JSON has neither); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(_jsonable(data), indent=2, allow_nan=False) + "\n"


def as_stored(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` exactly as a JSON file written by :func:`to_json` holds it (NaN -> None, numpy ->
    Python, tuples -> lists), so it compares equal to what is read back."""
    return json.loads(to_json(data))


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, to_json(data).encode())


def write_scores(
    path: Path, ids: np.ndarray, class_names: list[str], scores: np.ndarray, labels: np.ndarray
) -> None:
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        image_ids=np.asarray(ids, dtype=str),
        class_names=np.asarray(class_names, dtype=str),
        scores=scores.astype(np.float32),
        labels=labels.astype(np.float32),
    )
    atomic_write_bytes(path, buf.getvalue())


def write_checkpoint(
    path: Path,
    state_dict: dict[str, torch.Tensor],
    meta: dict[str, Any],
    tensors: dict[str, torch.Tensor] | None = None,
) -> None:
    """Tensors plus a JSON string of metadata: loadable with ``torch.load(weights_only=True)``.

    ``tensors`` are extra named tensors kept outside the state dict (the class embeddings the model
    was evaluated with), so ``load_state_dict`` sees exactly the model's own weights.
    """
    buf = io.BytesIO()
    payload: dict[str, Any] = {"state_dict": state_dict, "meta_json": to_json(meta)}
    for name, tensor in (tensors or {}).items():
        payload[name] = tensor.detach().cpu()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


@functools.cache
def git_hash() -> str | None:
    """The commit of the zsbench source tree when that tree is itself the top of a git checkout
    (a development install); None for an installed package, even one that lies inside some other
    repository (a virtual environment in a user's project). Taken once per process."""
    root = Path(__file__).resolve().parents[1]
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = top.stdout.split()
    if top.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != root:
        return None
    return lines[1]
