"""Image: arrays, PIL images, files and matplotlib figures, stored as PNG (or JPEG) files.

What is stored, and how (docs/media.md has the JSON):

- a numpy array (HxW, HxWx1, HxWx3, HxWx4, or channels first) or a torch CHW tensor is
  normalized the way the seeds describe, then encoded with Pillow;
- a PIL image is encoded as given (its mode kept; JPEG drops alpha);
- a file path is stored byte for byte, never re-encoded;
- a matplotlib figure (or the ``pyplot`` module: its current figure) is saved as PNG.

Masks are 2-D arrays of class ids stored losslessly as PNG (8 or 16 bits), or mask files
stored as they are; boxes are checked and stored inline in the value.
"""

from __future__ import annotations

import io
import json
import numbers
import types
from typing import TYPE_CHECKING, Any

from .. import terminal
from ..errors import MediaError, MediaTypeError
from .base import Media
from .source import is_file, is_path, read_source

if TYPE_CHECKING:
    from ..blobs import BlobStore

MAX_DIMENSION = 65500
MAX_ITEMS = 108
FILE_TYPES = {
    "png": "PNG",
    "jpg": "JPEG",
    "jpeg": "JPEG",
    "bmp": "BMP",
    "gif": "GIF",
    "webp": "WEBP",
}
_PIL_EXT = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "WEBP": "webp", "TIFF": "tiff"}
_PNG_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "P", "PA", "RGB", "RGBA"}


class Image(Media):
    """An image, logged as wandb's ``image-file``; a list of them as ``images/separated``.

    ``Image(data_or_path, mode=None, caption=None, grouping=None, classes=None, boxes=None,
    masks=None, file_type=None, normalize=True)``: see the module docstring for what
    ``data_or_path`` may be. Bad input raises ``MediaError`` (a ``ValueError``) here, before
    anything is written.
    """

    _type = "image-file"
    MAX_DIMENSION = MAX_DIMENSION
    MAX_ITEMS = MAX_ITEMS

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: dict | None = None,
        masks: dict | None = None,
        file_type: str | None = None,
        normalize: bool = True,
    ):
        self._caption = None if caption is None else str(caption)
        self._grouping = _check_grouping(grouping)
        self._file: tuple[bytes, str, tuple[int, int]] | None = None  # a file stored as is
        self._pil: Any = None  # a PIL image
        self._format: str
        ftype = _check_file_type(file_type)
        if isinstance(data_or_path, Image):
            self._pil, self._file = data_or_path._pil, data_or_path._file
            self._format = data_or_path._format
        elif is_path(data_or_path) or (is_file(data_or_path) and not _is_pil(data_or_path)):
            self._file = _read_image_file(data_or_path)
            self._format = self._file[1]
        else:
            self._pil = _to_pil(data_or_path, mode, normalize)
            self._format = ftype or "png"
        if self._file is not None:
            self._width, self._height = self._file[2]
        else:
            if mode is not None and self._pil.mode != mode:
                self._pil = _convert_mode(self._pil, mode)
            if FILE_TYPES[self._format] == "JPEG" and self._pil.mode not in ("L", "RGB", "CMYK"):
                if "A" in self._pil.getbands():
                    _warn_once("JPEG format does not support transparency. Ignoring alpha channel.")
                self._pil = self._pil.convert("RGB")  # JPEG has no alpha channel
            if self._format == "png" and self._pil.mode not in _PNG_MODES:
                raise MediaError(
                    f"Image(): a PIL image of mode {self._pil.mode!r} cannot be stored as PNG; pass mode='RGB' or 'L', "
                    "convert it first, or pick file_type='jpg'"
                )
            self._width, self._height = self._pil.size
        _check_size(self._width, self._height)
        self._masks = _check_masks(masks, self._width, self._height)
        self._boxes = _check_boxes(boxes)
        self._classes = _check_classes(classes)

    @property
    def image(self):
        """The PIL image (opened from the file for a path)."""
        if self._pil is None and self._file is not None:
            from PIL import Image as PILImage

            return PILImage.open(io.BytesIO(self._file[0]))
        return self._pil

    @property
    def format(self) -> str:
        return self._format

    def to_data_array(self) -> list:
        """The pixels as rows: ``[[pixel, ...], ...]``, each pixel an int (one band) or a tuple."""
        import numpy as np

        im = self.image
        if im is None:
            return []
        rows = np.asarray(im).tolist()
        if rows and rows[0] and isinstance(rows[0][0], list):
            rows = [[tuple(p) for p in row] for row in rows]
        return rows

    def __eq__(self, other: object) -> bool:
        """Two images are equal when their pixels, size, caption, grouping and classes are."""
        if not isinstance(other, Image):
            return False
        if (self._caption, self._grouping, self._width, self._height, self._classes) != (
            other._caption,
            other._grouping,
            other._width,
            other._height,
            other._classes,
        ):
            return False
        if self._file is not None and other._file is not None and self._file[0] == other._file[0]:
            return True
        import numpy as np

        a, b = self.image, other.image
        return a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # equal by content, as wandb's

    @classmethod
    def to_uint8(cls, data: Any):
        """The seeds' normalization of an array to uint8 pixels (see ``to_uint8``)."""
        import numpy as np

        return to_uint8(np.asarray(data))

    def guess_mode(self, data: Any) -> str:
        """The PIL mode of an HxW (``L``), HxWx1, HxWx3 (``RGB``) or HxWx4 (``RGBA``) array."""
        shape: tuple[int, ...] = getattr(data, "shape", ())
        if len(shape) == 2 or (len(shape) == 3 and shape[-1] == 1):
            return "L"
        if len(shape) == 3 and shape[-1] in (3, 4):
            return "RGB" if shape[-1] == 3 else "RGBA"
        raise MediaError(
            f"Image.guess_mode(): an array of shape {shape} is not an image; pass HxW, HxWx1, HxWx3 or HxWx4"
        )

    @classmethod
    def all_captions(cls, images: list) -> list | bool:
        """The captions of ``images`` ("" where none), or False when none has one (wandb's rule)."""
        captions = [getattr(img, "_caption", None) for img in images]
        return [c or "" for c in captions] if any(c is not None for c in captions) else False

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        if self._file is not None:
            ref = store.put(self._file[0], self._file[1])
        else:
            ref = store.put(_encode_pil(self._pil, self._format), self._format)
        value = {
            "_type": "image-file",
            **ref,
            "format": self._format,
            "width": self._width,
            "height": self._height,
        }
        if self._caption is not None:
            value["caption"] = self._caption
        if self._grouping is not None:
            value["grouping"] = self._grouping
        if self._masks:
            value["masks"] = {name: _encode_mask(m, store) for name, m in self._masks.items()}
        if self._boxes:
            value["boxes"] = {name: _encode_boxes(b, store) for name, b in self._boxes.items()}
        if self._classes is not None:
            value["classes"] = self._classes
        return value

    @classmethod
    def combine(cls, items: list[Image], store: BlobStore) -> dict[str, Any] | None:
        if len({img._format for img in items}) > 1:
            return None  # wandb cannot show mixed formats as one value: keep them one by one
        if len(items) > MAX_ITEMS:
            terminal.warn(
                f"{len(items)} images logged under one key; as wandb does, only the first {MAX_ITEMS} are kept"
            )
            items = items[:MAX_ITEMS]
        values = [img.to_json(store) for img in items]
        first = values[0]
        out: dict[str, Any] = {
            "_type": "images/separated",
            "width": first["width"],
            "height": first["height"],
            "format": first["format"],
            "count": len(values),
            "filenames": [v["path"] for v in values],
            "sha256s": [v["sha256"] for v in values],
            "sizes": [v["size"] for v in values],
        }
        captions = [v.get("caption") for v in values]
        if any(c is not None for c in captions):
            out["captions"] = [c if c is not None else "" for c in captions]
        for key, name in (("masks", "all_masks"), ("boxes", "all_boxes")):
            groups = [v.get(key) for v in values]
            if any(g is not None for g in groups):
                out[name] = groups
        return out

    def __repr__(self) -> str:
        return f"<localrun.Image {self._width}x{self._height} {self._format}>"


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        terminal.warn(message)


# --- input to PIL -----------------------------------------------------------------------------


def _is_pil(obj: Any) -> bool:
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "getbands")


def _to_pil(data: Any, mode: str | None, normalize: bool):
    module = type(data).__module__
    if _is_pil(data):
        data.load()
        return data
    if is_matplotlib(data):
        return figure_image(data)
    if module.startswith("torch"):
        arr = data.detach().cpu().numpy()
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)  # CHW -> HWC
        return _array_image(arr, normalize, "torch tensor")
    if module.startswith("numpy") or hasattr(data, "__array__"):
        import numpy as np

        return _array_image(np.asarray(data), normalize, "array")
    if isinstance(data, (list, tuple)):
        import numpy as np

        try:
            arr = np.asarray(data)
        except ValueError as exc:
            raise MediaTypeError(f"Image(): data_or_path is a ragged list: {exc}") from None
        return _array_image(arr, normalize, "list")
    raise MediaTypeError(
        f"Image() takes a path, an open file, a PIL image, a numpy array (HxW, HxWx1, HxWx3, HxWx4), "
        f"a torch tensor or a matplotlib figure as data_or_path, not {type(data).__name__}"
    )


def _array_image(arr: Any, normalize: bool, what: str):
    import numpy as np
    from PIL import Image as PILImage

    if arr.dtype.kind not in "biuf":
        raise MediaTypeError(
            f"Image(): a {what} of dtype {arr.dtype} is not an image; pass numbers (uint8, or floats)"
        )
    if (
        arr.ndim == 3
        and arr.shape[-1] not in (1, 3, 4)
        and arr.shape[0] in (1, 3, 4)
        and arr.shape[0] < min(arr.shape[1:])
    ):
        arr = arr.transpose(1, 2, 0)  # channels first (torchvision's make_grid) -> last
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4))):
        raise MediaError(
            f"Image(): a {what} of shape {arr.shape} is not an image; pass HxW, HxWx1, HxWx3 or HxWx4 "
            "(or channels first: 1xHxW, 3xHxW, 4xHxW)"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MediaError(f"Image(): a {what} of shape {arr.shape} has no pixels")
    _check_size(arr.shape[1], arr.shape[0])
    if arr.dtype != np.uint8:
        arr = to_uint8(arr, normalize)
    return PILImage.fromarray(np.ascontiguousarray(arr))


def to_uint8(arr: Any, normalize: bool = True):
    """The seeds' normalization: floats in [0, 1] times 255, in [-1, 1] to 255 * 0.5 * (x + 1),
    anything else clipped to [0, 255]; ``normalize=False`` only clips. Integer arrays are
    already in pixel units and are only clipped."""
    import numpy as np

    if arr.dtype.kind == "b":
        return arr.astype(np.uint8) * 255
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            arr = np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0)
        if normalize:
            lo, hi = float(arr.min()), float(arr.max())
            if lo >= 0 and hi <= 1:
                return (arr * 255).astype(np.uint8)
            if lo >= -1 and hi <= 1:
                return (255 * 0.5 * (arr + 1)).astype(np.uint8)
    return arr.clip(0, 255).astype(np.uint8)


def _convert_mode(pil, mode: str):
    try:
        return pil.convert(mode)
    except ValueError as exc:
        raise MediaError(
            f"Image(): cannot convert a {pil.mode} image to mode={mode!r}: {exc}. Use a PIL mode like 'L', 'RGB', 'RGBA'"
        ) from None


def _encode_pil(pil, fmt: str) -> bytes:
    buf = io.BytesIO()
    try:
        pil.save(buf, format=FILE_TYPES[fmt])
    except (OSError, ValueError, KeyError) as exc:
        raise MediaError(
            f"Image(): cannot save a {pil.mode} image as {fmt}: {exc}. Convert it to 'RGB' or 'L' first"
        ) from None
    return buf.getvalue()


def _read_image_file(obj: Any) -> tuple[bytes, str, tuple[int, int]]:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    data, name = read_source(obj, "Image()")
    try:
        with PILImage.open(io.BytesIO(data)) as im:
            size, fmt = im.size, im.format
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(
            f"Image(): {name or 'the file'} is not an image Pillow can open ({exc}). Pass a PNG, JPEG, GIF, BMP or WEBP file"
        ) from None
    ext = _PIL_EXT.get(fmt or "")
    if ext is None:
        raise MediaError(
            f"Image(): {name or 'the file'} is a {fmt} image; pass PNG, JPEG, GIF, BMP, WEBP or TIFF"
        )
    if name and "." in name and ext == "jpg" and name.lower().endswith(".jpeg"):
        ext = "jpeg"
    return data, ext, size


def _check_file_type(file_type: Any) -> str | None:
    if file_type is None:
        return None
    ft = str(file_type).lower().lstrip(".")
    if ft not in FILE_TYPES:
        raise MediaError(
            f"Image(): file_type={file_type!r} is not supported; use one of {', '.join(FILE_TYPES)}"
        )
    return ft


def _check_size(width: int, height: int) -> None:
    if width > MAX_DIMENSION or height > MAX_DIMENSION:
        raise MediaError(
            f"Image(): {width}x{height} pixels is too large: each side may be at most {MAX_DIMENSION} pixels. "
            "Resize or crop it"
        )


def _check_grouping(grouping: Any) -> int | None:
    if grouping is None:
        return None
    if isinstance(grouping, bool) or not isinstance(grouping, numbers.Integral):
        raise MediaTypeError(f"Image(): grouping must be an int, not {grouping!r}")
    return int(grouping)


# --- matplotlib ---------------------------------------------------------------------------------


def is_matplotlib(obj: Any) -> bool:
    """A matplotlib figure, or the ``matplotlib.pyplot`` module itself."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__ == "matplotlib.pyplot"
    return type(obj).__module__.startswith("matplotlib") and hasattr(obj, "savefig")


def figure_image(obj: Any):
    from PIL import Image as PILImage

    fig = obj.gcf() if isinstance(obj, types.ModuleType) else obj
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    im = PILImage.open(io.BytesIO(buf.getvalue()))
    im.load()
    return im


# --- masks ------------------------------------------------------------------------------------


def _labels(labels: Any, who: str) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise MediaTypeError(
            f"Image(): {who} class_labels must be a dict of class id (int) -> name (str), not {type(labels).__name__}"
        )
    out = {}
    for k, v in labels.items():
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise MediaTypeError(
                f"Image(): {who} class_labels keys must be int class ids, not {k!r}"
            )
        out[str(int(k))] = str(v)
    return out


def _check_masks(masks: Any, width: int, height: int) -> dict[str, dict] | None:
    if masks is None:
        return None
    if not isinstance(masks, dict):
        raise MediaTypeError(
            f"Image(): masks must be a dict of name -> {{'mask_data': 2-D array, 'class_labels': {{...}}}}, not {type(masks).__name__}"
        )
    out = {}
    for name, spec in masks.items():
        who = f"masks[{name!r}]"
        if hasattr(spec, "_val") and isinstance(spec._val, dict):  # a wandb-style ImageMask
            spec = spec._val
        if not isinstance(spec, dict):
            raise MediaTypeError(
                f"Image(): {who} must be a dict with 'mask_data' or 'path', not {type(spec).__name__}"
            )
        unknown = set(spec) - {"mask_data", "path", "class_labels"}
        if unknown:
            raise MediaError(
                f"Image(): {who} has unknown keys {sorted(unknown)!r}; use 'mask_data' or 'path', and 'class_labels'"
            )
        labels = _labels(spec.get("class_labels"), who)
        if "mask_data" in spec and "path" in spec:
            raise MediaError(f"Image(): {who} has both 'mask_data' and 'path'; give one")
        if "mask_data" in spec:
            png = _mask_png(spec["mask_data"], who, width, height)
            out[str(name)] = {"png": png, "class_labels": labels}
        elif "path" in spec:
            data, ext, size = _read_image_file(spec["path"])
            out[str(name)] = {"file": (data, ext), "class_labels": labels}
        else:
            raise MediaError(
                f"Image(): {who} needs 'mask_data' (a 2-D array of class ids) or 'path' (a mask image file); it has {sorted(spec)!r}"
            )
    return out


def _mask_png(data: Any, who: str, width: int, height: int) -> bytes:
    import numpy as np
    from PIL import Image as PILImage

    if type(data).__module__.startswith("torch"):
        data = data.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise MediaTypeError(
            f"Image(): {who} mask_data has dtype {arr.dtype}; pass integer class ids"
        )
    if arr.ndim != 2:
        raise MediaError(
            f"Image(): {who} mask_data has shape {arr.shape}; pass a 2-D array (HxW) of class ids"
        )
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            raise MediaError(
                f"Image(): {who} mask_data holds non-integer values; pass integer class ids"
            )
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    if lo < 0 or hi > 65535:
        raise MediaError(
            f"Image(): {who} mask_data holds class ids from {lo} to {hi}; class ids must be 0..65535"
        )
    # Lossless: 8-bit grayscale when the ids fit, else 16-bit.
    im = (
        PILImage.fromarray(arr.astype(np.uint8))
        if hi <= 255
        else PILImage.fromarray(arr.astype(np.uint16))
    )
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _encode_mask(mask: dict, store: BlobStore) -> dict[str, Any]:
    if "png" in mask:
        ref = store.put(mask["png"], "png")
    else:
        ref = store.put(*mask["file"])
    value = {"_type": "mask", **ref}
    if mask["class_labels"]:
        value["class_labels"] = mask["class_labels"]
    return value


def _encode_boxes(boxes: dict, store: BlobStore) -> dict[str, Any]:
    """A box set as wandb logs it: a ``boxes2D`` value naming a JSON file that holds
    ``{"box_data": [...], "class_labels": {...}}``; the labels are in the value too."""
    body = json.dumps(
        {"box_data": boxes["box_data"], "class_labels": boxes["class_labels"]},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    ref = store.put(body.encode("utf-8"), "boxes2D.json")
    return {"_type": "boxes2D", **ref, "class_labels": boxes["class_labels"]}


# --- boxes ------------------------------------------------------------------------------------


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        if type(v).__module__.startswith("numpy") and getattr(v, "size", 0) == 1:
            return float(v)
        raise MediaTypeError(f"Image(): {where} must be a number, not {v!r}")
    return float(v) if not isinstance(v, numbers.Integral) else int(v)


def _check_boxes(boxes: Any) -> dict[str, dict] | None:
    if boxes is None:
        return None
    if not isinstance(boxes, dict):
        raise MediaTypeError(
            f"Image(): boxes must be a dict of name -> {{'box_data': [...], 'class_labels': {{...}}}}, not {type(boxes).__name__}"
        )
    out = {}
    for name, spec in boxes.items():
        who = f"boxes[{name!r}]"
        if hasattr(spec, "_val") and isinstance(spec._val, dict):  # a wandb-style BoundingBoxes2D
            spec = spec._val
        if not isinstance(spec, dict) or "box_data" not in spec:
            raise MediaError(
                f"Image(): {who} must be a dict with 'box_data' (a list of boxes) and optional 'class_labels'; got {spec!r:.80}"
            )
        box_data = spec["box_data"]
        if not isinstance(box_data, (list, tuple)):
            raise MediaTypeError(
                f"Image(): {who} box_data must be a list of box dicts, not {type(box_data).__name__}"
            )
        labels = _labels(spec.get("class_labels"), who)
        checked = [_check_box(b, f"{who}['box_data'][{i}]") for i, b in enumerate(box_data)]
        for b in checked:  # wandb's default names for ids without a label
            labels.setdefault(str(b["class_id"]), f"class_{b['class_id']}")
        out[str(name)] = {"_type": "boxes2D", "box_data": checked, "class_labels": labels}
    return out


def _check_box(box: Any, who: str) -> dict[str, Any]:
    if not isinstance(box, dict):
        raise MediaTypeError(
            f"Image(): {who} must be a dict with 'position' and 'class_id', not {type(box).__name__}"
        )
    pos = box.get("position")
    if not isinstance(pos, dict):
        raise MediaError(
            f"Image(): {who} needs 'position': {{'minX','maxX','minY','maxY'}} or {{'middle','width','height'}}"
        )
    keys = set(pos)
    position: dict[str, Any]
    if keys == {"minX", "maxX", "minY", "maxY"}:
        position = {
            k: _number(pos[k], f"{who}['position'][{k!r}]")
            for k in ("minX", "maxX", "minY", "maxY")
        }
        if position["minX"] > position["maxX"] or position["minY"] > position["maxY"]:
            raise MediaError(f"Image(): {who} position has min above max: {position!r}")
    elif keys == {"middle", "width", "height"}:
        middle = pos["middle"]
        if not isinstance(middle, (list, tuple)) and hasattr(middle, "tolist"):
            middle = middle.tolist()
        if not isinstance(middle, (list, tuple)) or len(middle) != 2:
            raise MediaError(f"Image(): {who} position 'middle' must be [x, y], not {middle!r}")
        position = {
            "middle": [
                _number(middle[0], f"{who} middle x"),
                _number(middle[1], f"{who} middle y"),
            ],
            "width": _number(pos["width"], f"{who} width"),
            "height": _number(pos["height"], f"{who} height"),
        }
        if position["width"] < 0 or position["height"] < 0:
            raise MediaError(f"Image(): {who} has a negative width or height: {position!r}")
    else:
        raise MediaError(
            f"Image(): {who} position has keys {sorted(keys)!r}; use either minX, maxX, minY, maxY "
            "or middle, width, height"
        )
    class_id = box.get("class_id")
    if isinstance(class_id, bool) or not isinstance(class_id, numbers.Integral):
        raise MediaTypeError(f"Image(): {who} needs an int 'class_id', not {class_id!r}")
    out: dict[str, Any] = {"position": position, "class_id": int(class_id)}
    domain = box.get("domain")
    if domain not in (None, "pixel", "percentage"):
        raise MediaError(
            f"Image(): {who} domain={domain!r}; use 'pixel', or leave it out for fractions of the image"
        )
    if domain is not None:
        out["domain"] = domain
    if "scores" in box and box["scores"] is not None:
        scores = box["scores"]
        if not isinstance(scores, dict):
            raise MediaTypeError(
                f"Image(): {who} scores must be a dict of name -> number, not {type(scores).__name__}"
            )
        out["scores"] = {str(k): _number(v, f"{who} scores[{k!r}]") for k, v in scores.items()}
    if box.get("box_caption") is not None:
        out["box_caption"] = str(box["box_caption"])
    return out


def _check_classes(classes: Any) -> list[dict] | None:
    if classes is None:
        return None
    if hasattr(classes, "_class_set"):  # a wandb-style Classes object
        classes = classes._class_set
    if not isinstance(classes, (list, tuple)):
        raise MediaTypeError(
            f"Image(): classes must be a list of {{'id': int, 'name': str}}, not {type(classes).__name__}"
        )
    out = []
    for c in classes:
        if not isinstance(c, dict) or "id" not in c or "name" not in c:
            raise MediaError(
                f"Image(): each of classes must be {{'id': int, 'name': str}}, not {c!r}"
            )
        out.append({"id": int(c["id"]), "name": str(c["name"])})
    return out
