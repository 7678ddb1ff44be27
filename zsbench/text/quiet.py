"""Hugging Face loaders draw their own progress bars on stderr ("Loading weights: ..."), which
would break zsbench's one-line errors and mix with its own progress display; every loader of a
transformers model calls :func:`quiet_transformers` first."""

from __future__ import annotations


def quiet_transformers() -> None:
    """Turn off transformers' own progress bars and info logging for this process."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
