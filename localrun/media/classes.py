"""Classes: the id -> name list of a segmentation or detection task, as wandb's ``classes``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MediaUsageError
from .base import Media

if TYPE_CHECKING:
    from ..blobs import BlobStore


class Classes(Media):
    """``Classes([{"id": 1, "name": "cat"}, ...])``: passed to ``Image(classes=)``, or logged
    (its value is inline: ``{"_type": "classes", "class_set": [...]}``)."""

    _type = "classes"

    def __init__(self, class_set: Any):
        if not isinstance(class_set, (list, tuple)):
            raise MediaUsageError(
                f"Classes() takes a list of {{'id': int, 'name': str}}, not {type(class_set).__name__}"
            )
        for c in class_set:
            if not isinstance(c, dict) or "id" not in c or "name" not in c:
                raise MediaUsageError(
                    f"Classes(): each class must be a dict with 'id' and 'name', not {c!r:.60}"
                )
        self._class_set = list(class_set)

    @property
    def class_set(self) -> list[dict]:
        return self._class_set

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        from ..values import normalize

        return {"_type": "classes", "class_set": normalize(self._class_set, store, "Classes")}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Classes) and self._class_set == other._class_set

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]
