"""``pretrained:PATH``: the visual backbone of a ``zsbench pretrain`` checkpoint, as any method's backbone.

The factory builds the backbone the checkpoint records (e.g. ``tiny-cnn``) and loads its weights, so
the part is that backbone itself, with its state-dict names, ``forward`` and (when it has one)
``forward_features``: methods use it frozen or fine-tuned like any other, and its features are the
pretrained visual tower's before the projection into the joint space (the projection and the text
tower are for ``clip-zeroshot``, through :func:`zsbench.vlm.pretrained.load_pretrained`).

Image size: the backbone keeps the size it was pretrained at. A dataset of another size is resized
to it by ``prepare_batch`` (bilinear, antialiased), so the filters always see the scale they learnt;
the run's own ``--image-size`` decides only the dataset's pixels. Its ``preprocess`` carries what
pretraining saw (``Preprocess.pretraining``), which result.json records under ``backbone.preprocess``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from zsbench.backbones.base import Backbone
from zsbench.errors import UsageError
from zsbench.vlm.pretrained import build_visual_backbone, read_pretrained


def checkpoint_file(path: str) -> Path:
    """The ``pretrained.pt`` that ``path`` names (the file, or the folder holding it); one line when
    it is not there."""
    if not path:
        raise UsageError("give the checkpoint: --backbone pretrained:PATH (the pretrained.pt 'zsbench pretrain' wrote)")
    file = Path(path).expanduser()
    if file.is_dir():
        file = file / "pretrained.pt"
    if not file.is_file():
        raise UsageError(f"pretrained checkpoint {file} does not exist; make one with 'zsbench pretrain --out DIR' "
                         "(it writes DIR/pretrained.pt)")
    return file


def create_pretrained(path: str, **_: object) -> Backbone:
    """The pretrained backbone at ``path`` (a ``pretrained.pt``, or the folder holding one)."""
    file = checkpoint_file(path)
    meta, state, _tensors = read_pretrained(file)
    backbone = build_visual_backbone(meta, state, file)
    backbone.preprocess = replace(backbone.preprocess, pretraining=meta["pretraining"])
    return backbone


# checked by the runner before any text or image is loaded (Registry.check_argument)
create_pretrained.check_argument = checkpoint_file  # type: ignore[attr-defined]
