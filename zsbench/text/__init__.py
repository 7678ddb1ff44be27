"""Class texts and text encoders. The built-in encoders are registered lazily (``zsbench.builtins``)."""

from zsbench.text.class_texts import CLASS_TEXT_MODES, class_texts
from zsbench.text.encoders import TextEncoder

__all__ = ["CLASS_TEXT_MODES", "TextEncoder", "class_texts"]
