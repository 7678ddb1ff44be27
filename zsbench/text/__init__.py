"""Class texts and text encoders. Importing this package registers the built-in encoders."""

from zsbench.text import hf  # noqa: F401  (registration side effect)
from zsbench.text.class_texts import CLASS_TEXT_MODES, class_texts
from zsbench.text.encoders import TextEncoder

__all__ = ["CLASS_TEXT_MODES", "TextEncoder", "class_texts"]
