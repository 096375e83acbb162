"""Object3D: 3-D model files stored as they are; point clouds and lidar scenes stored as JSON."""

from __future__ import annotations

import json
import numbers
from typing import TYPE_CHECKING, Any

from ..errors import MediaError, MediaTypeError
from .base import Media
from .source import file_extension, is_file, is_path, read_source

if TYPE_CHECKING:
    from ..blobs import BlobStore

FORMATS = ("obj", "gltf", "glb", "babylon", "stl", "pts.json")
POINT_CLOUD_TYPES = ("lidar/beta",)
MAX_CATEGORY = 14


class Object3D(Media):
    """A 3-D object, logged as wandb's ``object3D-file``.

    ``Object3D(data_or_path, file_type=None, caption=None)``:

    - a path or open file ending in ``.obj``, ``.gltf``, ``.glb``, ``.babylon``, ``.stl`` or
      ``.pts.json`` (``file_type=`` names the format of an ``io.BytesIO``), stored byte for byte;
    - a numpy point cloud: N x 3 (x, y, z), N x 4 (x, y, z, category 1-14) or N x 6
      (x, y, z, r, g, b with r, g, b in 0-255), stored as ``.pts.json``;
    - a scene dict ``{"type": "lidar/beta", "points": ..., "boxes": [...], "vectors": [...]}``,
      each box with ``corners`` (8 x 3), optional ``label`` and ``color`` (r, g, b), each vector
      with ``start`` and ``end`` (x, y, z); stored as ``.pts.json``.
    """

    _type = "object3D-file"

    def __init__(self, data_or_path: Any, file_type: str | None = None, caption: str | None = None):
        self._caption = None if caption is None else str(caption)
        if is_path(data_or_path) or is_file(data_or_path):
            data, name = read_source(data_or_path, "Object3D()")
            ext = file_extension(name, file_type, FORMATS, "Object3D()", "3-D file")
            _check_file(data, ext, name)
            self._bytes, self._ext = data, ext
        elif isinstance(data_or_path, dict):
            self._bytes, self._ext = _dump(_scene(data_or_path)), "pts.json"
        elif type(data_or_path).__module__.startswith(("numpy", "torch")) or isinstance(
            data_or_path, (list, tuple)
        ):
            self._bytes, self._ext = _dump(_points(data_or_path, "data_or_path")), "pts.json"
        else:
            raise MediaTypeError(
                "Object3D() takes a path or open file (obj, gltf, glb, babylon, stl, pts.json), a numpy point cloud "
                f"(N x 3, N x 4, N x 6) or a lidar/beta scene dict as data_or_path, not {type(data_or_path).__name__}"
            )

    def _encode(self, store: BlobStore) -> dict[str, Any]:
        value = {"_type": "object3D-file", **store.put(self._bytes, self._ext)}
        if self._caption is not None:
            value["caption"] = self._caption
        return value

    @classmethod
    def from_file(cls, data_or_path: Any, file_type: str | None = None) -> Object3D:
        """A 3-D file (path or open file; ``file_type=`` for one with no name), as wandb's."""
        if not (is_path(data_or_path) or is_file(data_or_path)):
            raise MediaTypeError(
                f"Object3D.from_file() takes a path or an open file, not {type(data_or_path).__name__}"
            )
        return cls(data_or_path, file_type=file_type)

    @classmethod
    def from_numpy(cls, data: Any) -> Object3D:
        """A point cloud from a numpy array: N x 3, N x 4 (with a category) or N x 6 (with r, g, b)."""
        if not type(data).__module__.startswith("numpy") or not hasattr(data, "shape"):
            raise MediaTypeError(
                f"Object3D.from_numpy() takes a numpy array, not {type(data).__name__}"
            )
        return cls(data)

    @classmethod
    def from_point_cloud(
        cls,
        points: Any,
        boxes: Any = (),
        vectors: Any = None,
        point_cloud_type: str = "lidar/beta",
    ) -> Object3D:
        """wandb's helper: a lidar scene from points, boxes (see ``box3d``) and vectors."""
        if point_cloud_type not in POINT_CLOUD_TYPES:
            raise MediaError(
                f"Object3D.from_point_cloud(): point_cloud_type={point_cloud_type!r} is not supported; "
                f"use one of {', '.join(POINT_CLOUD_TYPES)}"
            )
        return cls(
            {
                "type": point_cloud_type,
                "points": points,
                "boxes": boxes if boxes is not None else [],
                "vectors": vectors if vectors is not None else [],
            }
        )

    @classmethod
    def combine(cls, items: list[Object3D], store: BlobStore) -> dict[str, Any] | None:
        """A list of objects is one ``object3D`` value, as wandb logs it."""
        values = [o.to_json(store) for o in items]
        return {
            "_type": "object3D",
            "count": len(values),
            "filenames": [v["path"] for v in values],
            "sha256s": [v["sha256"] for v in values],
            "sizes": [v["size"] for v in values],
            "objects": values,
        }


def box3d(
    *,
    center: Any,
    size: Any,
    orientation: Any,
    color: Any,
    label: str | None = None,
    score: float | None = None,
) -> dict[str, Any]:
    """A 3-D box for a lidar scene (``Object3D.from_point_cloud(boxes=[...])``), as wandb's
    ``box3d``: its 8 ``corners`` from a ``center`` (x, y, z), a ``size`` (the box's extent
    along its own x, y, z axes) and an ``orientation``, a quaternion (r, i, j, k) that turns
    the box about its center (it need not be of unit length; ``(1, 0, 0, 0)`` turns nothing).
    """
    import numpy as np

    c = _vec(center, 3, "center")
    s = _vec(size, 3, "size")
    q = _vec(orientation, 4, "orientation")
    rot = _rotation(q)
    signs = np.array(
        [(x, y, z) for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)], dtype=np.float64
    )
    corners = c + (0.5 * s * signs) @ rot
    return {
        "corners": tuple(tuple(float(v) for v in pt) for pt in corners),
        "color": color,
        "label": label,
        "score": score,
    }


def _vec(value: Any, n: int, what: str):
    import numpy as np

    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (n,):
        raise MediaError(f"box3d(): {what} must be {n} numbers, not {value!r:.60}")
    return arr


def _rotation(q: Any):
    """The rotation matrix (acting on row vectors) of a quaternion (r, i, j, k), any length."""
    import numpy as np

    norm = float(np.linalg.norm(q))
    if norm == 0 or not np.isfinite(norm):
        raise MediaError(
            f"box3d(): orientation {q.tolist()!r} is not a rotation; pass a non-zero quaternion"
        )
    r, i, j, k = q / norm
    return np.array(
        [
            [1 - 2 * (j * j + k * k), 2 * (i * j + k * r), 2 * (i * k - j * r)],
            [2 * (i * j - k * r), 1 - 2 * (i * i + k * k), 2 * (j * k + i * r)],
            [2 * (i * k + j * r), 2 * (j * k - i * r), 1 - 2 * (i * i + j * j)],
        ]
    )


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def _check_file(data: bytes, ext: str, name: str | None) -> None:
    what = name or "the file"
    if ext == "glb":
        if data[:4] != b"glTF":
            raise MediaError(
                f"Object3D(): {what} is not a binary glTF (.glb) file: it does not start with 'glTF'"
            )
    elif ext in ("gltf", "babylon", "pts.json"):
        try:
            json.loads(data)
        except ValueError as exc:
            raise MediaError(
                f"Object3D(): {what} should be JSON ({ext}) but is not: {exc}"
            ) from None
    elif ext == "obj":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise MediaError(f"Object3D(): {what} is not a text OBJ file") from None


def _as_array(data: Any, where: str):
    import numpy as np

    if type(data).__module__.startswith("torch"):
        data = data.detach().cpu().numpy()
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MediaTypeError(f"Object3D(): {where} must be an array of numbers: {exc}") from None
    return arr


def _points(data: Any, where: str) -> list:
    import numpy as np

    arr = _as_array(data, where)
    if arr.ndim != 2 or arr.shape[1] not in (3, 4, 6):
        raise MediaError(
            f"Object3D(): {where} has shape {arr.shape}; a point cloud is N x 3 (x, y, z), N x 4 "
            "(x, y, z, category) or N x 6 (x, y, z, r, g, b)"
        )
    if not np.isfinite(arr).all():
        raise MediaError(f"Object3D(): {where} holds NaN or infinite coordinates")
    if arr.shape[1] == 4:
        cat = arr[:, 3]
        if arr.shape[0] and (
            (cat != np.round(cat)).any() or cat.min() < 1 or cat.max() > MAX_CATEGORY
        ):
            raise MediaError(
                f"Object3D(): {where} is N x 4, so column 4 is a category: whole numbers 1..{MAX_CATEGORY}"
            )
    if arr.shape[1] == 6:
        rgb = arr[:, 3:]
        if arr.shape[0] and (rgb.min() < 0 or rgb.max() > 255):
            raise MediaError(f"Object3D(): {where} is N x 6, so columns 4-6 are r, g, b in 0..255")
    out = arr.tolist()
    if arr.shape[1] > 3:  # categories and colours are whole numbers
        out = [row[:3] + [int(v) for v in row[3:]] for row in out]
    return out


def _triple(v: Any, where: str) -> list:
    if type(v).__module__.startswith("numpy"):
        v = v.tolist()
    if (
        not isinstance(v, (list, tuple))
        or len(v) != 3
        or not all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in v)
    ):
        raise MediaError(f"Object3D(): {where} must be 3 numbers, not {v!r}")
    return [float(x) if not isinstance(x, numbers.Integral) else int(x) for x in v]


def _scene(scene: dict) -> dict:
    kind = scene.get("type")
    if kind != "lidar/beta":
        raise MediaError(
            f"Object3D(): a scene dict needs 'type': 'lidar/beta' (the only scene type), not {kind!r}"
        )
    unknown = set(scene) - {"type", "points", "boxes", "vectors"}
    if unknown:
        raise MediaError(
            f"Object3D(): unknown scene keys {sorted(unknown)!r}; use points, boxes, vectors"
        )
    points = scene.get("points")
    if (
        points is None
        or getattr(points, "size", None) == 0
        or (isinstance(points, (list, tuple)) and not points)
    ):
        points = []  # a scene with no points (only boxes or vectors), as wandb allows
    else:
        points = _points(points, "scene['points']")
    out: dict[str, Any] = {"type": kind, "points": points}
    boxes = scene.get("boxes", [])
    if type(boxes).__module__.startswith("numpy"):
        boxes = list(boxes.ravel())  # the seeds pass np.array([{...}, {...}])
    out["boxes"] = [_box(b, f"scene['boxes'][{i}]") for i, b in enumerate(boxes or [])]
    vectors = scene.get("vectors", [])
    if type(vectors).__module__.startswith("numpy"):
        vectors = list(vectors.ravel())
    out["vectors"] = [_vector(v, f"scene['vectors'][{i}]") for i, v in enumerate(vectors or [])]
    return out


def _box(box: Any, where: str) -> dict:
    if not isinstance(box, dict) or "corners" not in box:
        raise MediaError(
            f"Object3D(): {where} must be a dict with 'corners' (8 points), optional 'label' and 'color'"
        )
    corners = box["corners"]
    if type(corners).__module__.startswith("numpy"):
        corners = corners.tolist()
    if not isinstance(corners, (list, tuple)) or len(corners) not in (0, 8):
        raise MediaError(
            f"Object3D(): {where}['corners'] must be 8 points (x, y, z), got {corners!r:.80}"
        )
    out: dict[str, Any] = {
        "corners": [_triple(c, f"{where}['corners'][{i}]") for i, c in enumerate(corners)]
    }
    if box.get("label") is not None:
        out["label"] = str(box["label"])
    # Colours are passed through as given: the seeds' own example uses 321.
    out["color"] = (
        _triple(box["color"], f"{where}['color']") if box.get("color") is not None else [0, 255, 0]
    )
    if box.get("score") is not None:
        out["score"] = float(box["score"])
    return out


def _vector(vec: Any, where: str) -> dict:
    if not isinstance(vec, dict) or "start" not in vec or "end" not in vec:
        raise MediaError(
            f"Object3D(): {where} must be a dict with 'start' and 'end' (x, y, z each)"
        )
    out = {
        "start": _triple(vec["start"], f"{where}['start']"),
        "end": _triple(vec["end"], f"{where}['end']"),
    }
    if vec.get("color") is not None:
        out["color"] = _triple(vec["color"], f"{where}['color']")
    return out
