"""The text that stands for each class: its name, or its description."""

from __future__ import annotations

from zsbench.data.base import ClassInfo
from zsbench.errors import UsageError

CLASS_TEXT_MODES = ("name", "description")


def class_texts(classes: list[ClassInfo], mode: str) -> list[str]:
    """One text per class. ``description`` uses each class's first (primary) description."""
    if mode == "name":
        return [c.display_name for c in classes]
    if mode == "description":
        missing = [c.name for c in classes if not c.descriptions]
        if missing:
            raise UsageError(
                f"no description for {', '.join(missing)}; use --class-text name or add descriptions"
            )
        return [c.descriptions[0] for c in classes]
    raise UsageError(f"unknown --class-text {mode!r}; choose one of {', '.join(CLASS_TEXT_MODES)}")
