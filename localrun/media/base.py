"""What every media type shares: turning itself into the JSON value a record holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..blobs import BlobStore

# The type of a Media subclass, for combine(): it takes a list of its own class (typing.Self
# is Python 3.11+).
_M = TypeVar("_M", bound="Media")


class Media:
    """Base of Image, Histogram, Video, Audio, Table, Html, Object3D, Molecule...

    A subclass checks its input in ``__init__`` (so bad input raises before anything is
    written) and implements ``_encode(store)``: write its files through ``store`` and return
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
    def combine(cls: type[_M], items: list[_M], store: BlobStore) -> dict[str, Any] | None:
        """The one value wandb writes for a list of this type (e.g. ``images/separated``).

        None means the list is stored as a list of single values.
        """
        return None


class KeyedMedia(Media):
    """Media whose logged form depends on the key it is logged under (chart presets).

    ``log({"pr": chart})`` stores ``chart``'s table under ``"pr_table"`` and a chart record for
    ``"pr"``: ``expand(key, store)`` returns the values to log in place of ``key`` and the spec
    of the chart record. Logged anywhere else (nested, or in the summary), its value is
    ``to_json`` (the table).
    """

    def expand(self, key: str, store: BlobStore) -> tuple[dict[str, Any], dict[str, Any]]:
        raise NotImplementedError
