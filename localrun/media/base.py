"""What every media type shares: turning itself into the JSON value a record holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..blobs import BlobStore


class Media:
    """Base of Image, Histogram, Video, Audio, Table, Html, Object3D, Molecule...

    A subclass implements ``_encode(store)``: write its files through ``store`` and return
    the JSON value (a dict with ``_type``) that goes into the record. The value is cached per
    run directory, so logging one object twice (or under two keys) encodes it once.
    """

    _type = "media"

    def to_json(self, store: BlobStore) -> dict[str, Any]:
        cache = self.__dict__.get("_lr_json")
        if cache is not None and cache[0] == store.run_dir:
            return cache[1]
        value = self._encode(store)
        self.__dict__["_lr_json"] = (store.run_dir, value)
        return value

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def combine(cls, items: list[Media], store: BlobStore) -> dict[str, Any] | None:
        """The one value wandb writes for a list of this type (e.g. ``images/separated``).

        None means the list is stored as a list of single values.
        """
        return None
