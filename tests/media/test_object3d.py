"""Object3D: model files byte for byte; point clouds and lidar scenes as JSON."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import FIXTURES, export, file_of, last


@pytest.mark.parametrize(
    "name", ["sample.obj", "sample.gltf", "sample.glb", "sample.stl", "sample.pts.json"]
)
def test_files_are_stored_byte_for_byte_with_their_extension(run, name):
    localrun.log({"obj": localrun.Object3D(str(FIXTURES / name))})
    value = last(run, "obj")
    assert value["_type"] == "object3D-file"
    path = file_of(run, value)
    assert path.name.endswith(name.split(".", 1)[1])
    assert path.read_bytes() == (FIXTURES / name).read_bytes()


def test_the_stored_glb_decodes(run):
    localrun.log({"obj": localrun.Object3D(str(FIXTURES / "sample.glb"))})
    data = file_of(run, last(run, "obj")).read_bytes()
    magic, version, total = struct.unpack_from("<4sII", data)
    assert (magic, version, total) == (b"glTF", 2, len(data))
    length, kind = struct.unpack_from("<I4s", data, 12)
    gltf = json.loads(data[20 : 20 + length])
    assert kind == b"JSON" and gltf["accessors"][0]["count"] == 8


def test_text_mode_open_files_as_in_the_seeds(run):
    # The seeds pass open("sample.glb") in text mode: the file is re-read in binary by name.
    with (
        open(FIXTURES / "sample.obj") as a,
        open(FIXTURES / "sample.gltf") as b,
        open(FIXTURES / "sample.glb") as c,
    ):
        localrun.log(
            {
                "generated_samples": [
                    localrun.Object3D(a),
                    localrun.Object3D(b),
                    localrun.Object3D(c),
                ]
            }
        )
    # A list of Object3D is one object3D value, as wandb logs it (issue 14).
    value = last(run, "generated_samples")
    assert value["_type"] == "object3D" and value["count"] == 3
    assert [p.rsplit(".", 1)[1] for p in value["filenames"]] == ["obj", "gltf", "glb"]
    values = value["objects"]
    assert [v["path"] for v in values] == value["filenames"]
    assert file_of(run, values[2]).read_bytes() == (FIXTURES / "sample.glb").read_bytes()


@pytest.mark.parametrize("cols", [3, 4, 6])
def test_point_clouds(run, cols):
    rng = np.random.default_rng(0)
    pts = rng.random((50, cols))
    if cols == 4:
        pts[:, 3] = rng.integers(1, 15, 50)
    if cols == 6:
        pts[:, 3:] = rng.integers(0, 256, (50, 3))
    localrun.log({"point_cloud": localrun.Object3D(pts)})
    value = last(run, "point_cloud")
    path = file_of(run, value)
    assert path.name.endswith(".pts.json")
    np.testing.assert_array_equal(np.array(json.loads(path.read_text())), pts)


def test_lidar_scene(run):
    scene = {
        "type": "lidar/beta",
        "points": np.array([[0.4, 1, 1.3], [1, 1, 1], [1.2, 1, 1.2]]),
        "boxes": np.array([{"corners": [[0, 0, 0]] * 8, "label": "Box", "color": [123, 321, 111]}]),
        "vectors": [{"start": [0, 0, 0], "end": [0.1, 0.2, 0.5]}],
    }
    localrun.log({"point_scene": localrun.Object3D(scene)})
    body = json.loads(file_of(run, last(run, "point_scene")).read_text())
    assert body["type"] == "lidar/beta"
    assert body["points"] == [[0.4, 1, 1.3], [1, 1, 1], [1.2, 1, 1.2]]
    assert body["boxes"] == [{"corners": [[0, 0, 0]] * 8, "label": "Box", "color": [123, 321, 111]}]
    assert body["vectors"] == [{"start": [0, 0, 0], "end": [0.1, 0.2, 0.5]}]


def test_bytes_io_needs_file_type(run):
    data = (FIXTURES / "sample.obj").read_bytes()
    with pytest.raises(MediaError, match="file_type"):
        localrun.Object3D(io.BytesIO(data))
    localrun.log({"o": localrun.Object3D(io.BytesIO(data), file_type="obj")})
    assert export(run)[0]["o"]["path"].endswith(".obj")


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (np.zeros((5, 5)), MediaError, "N x 3"),
        (np.array([[0, 0, 0, 15]]), MediaError, "1..14"),
        (np.array([[0, 0, 0, 1, 2, 300]]), MediaError, "0..255"),
        (np.array([[0, 0, np.nan]]), MediaError, "NaN"),
        ({"type": "other"}, MediaError, "lidar/beta"),
        (
            {
                "type": "lidar/beta",
                "points": np.zeros((1, 3)),
                "boxes": [{"corners": [[0, 0, 0]] * 7}],
            },
            MediaError,
            "8 points",
        ),
        (
            {"type": "lidar/beta", "points": np.zeros((1, 3)), "vectors": [{"start": [0, 0]}]},
            MediaError,
            "'end'",
        ),
        (str(FIXTURES / "sample.wav"), MediaError, ".obj"),
        (str(FIXTURES / "nope.obj"), MediaError, "does not exist"),
        (3.5, MediaTypeError, "not float"),
    ],
)
def test_bad_input(data, error, words):
    with pytest.raises(error) as info:
        localrun.Object3D(data)
    assert words in str(info.value)


def test_a_glb_that_is_not_binary_gltf(tmp_path):
    bad = tmp_path / "x.glb"
    bad.write_bytes(b"hello")
    with pytest.raises(MediaError, match="glTF"):
        localrun.Object3D(str(bad))


# --- wandb's Object3D helpers (issue 14) ---------------------------------------------------------


def test_from_file_and_from_numpy(run):
    pts = np.array([[0, 0, 0, 1], [0, 0, 1, 13], [0, 1, 0, 2]])
    with open(FIXTURES / "sample.gltf") as f:
        from_text_io = localrun.Object3D.from_file(io.StringIO(f.read()), file_type="gltf")
    localrun.log(
        {
            "path": localrun.Object3D.from_file(str(FIXTURES / "sample.obj")),
            "text": from_text_io,
            "np": localrun.Object3D.from_numpy(pts),
        }
    )
    assert last(run, "path")["path"].endswith(".obj")
    assert last(run, "text")["path"].endswith(".gltf")
    assert json.loads(file_of(run, last(run, "np")).read_text()) == pts.tolist()
    with pytest.raises(ValueError):
        localrun.Object3D.from_file(io.StringIO("some text"))  # no name, no file_type
    for bad in (np.array([1]), np.array([[1, 2], [3, 4]])):
        with pytest.raises(ValueError):
            localrun.Object3D.from_numpy(bad)


def test_point_cloud_scenes_may_have_no_points(run):
    localrun.log(
        {
            "empty": localrun.Object3D.from_point_cloud([], [], []),
            "typed": localrun.Object3D({"type": "lidar/beta"}),
            "boxes_only": localrun.Object3D.from_point_cloud(
                points=[], boxes=[{"corners": [], "label": "no corners", "color": [0, 0, 0]}]
            ),
        }
    )
    for key in ("empty", "typed"):
        assert json.loads(file_of(run, last(run, key)).read_text()) == {
            "type": "lidar/beta",
            "points": [],
            "boxes": [],
            "vectors": [],
        }
    with pytest.raises(ValueError, match="point_cloud_type"):
        localrun.Object3D.from_point_cloud([], [], [], "invalid point cloud type!")


def test_box3d_gives_the_corners_of_a_turned_box(run):
    plain = localrun.box3d(
        center=(3, 4, 5), size=(6, 8, 10), orientation=(1, 0, 0, 0), color=(0, 0, 0)
    )
    corners = np.array(plain["corners"])
    np.testing.assert_allclose(corners.min(axis=0), [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(corners.max(axis=0), [6, 8, 10], atol=1e-9)
    # 1 + i + j + k: 120 degrees about (1, 1, 1), taking (x, y, z) to (z, x, y).
    turned = localrun.box3d(
        center=(5, 3, 4),
        size=(6, 8, 10),
        orientation=(1, 1, 1, 1),
        color=(0, 0, 0),
        label="b",
        score=0.5,
    )
    corners = np.array(turned["corners"])
    np.testing.assert_allclose(corners.min(axis=0), [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(corners.max(axis=0), [10, 6, 8], atol=1e-9)
    assert (turned["label"], turned["score"], turned["color"]) == ("b", 0.5, (0, 0, 0))
    with pytest.raises(ValueError, match="quaternion"):
        localrun.box3d(center=(0, 0, 0), size=(1, 1, 1), orientation=(0, 0, 0, 0), color=(0, 0, 0))
    localrun.log({"scene": localrun.Object3D.from_point_cloud(np.zeros((2, 3)), [plain, turned])})
    scene = json.loads(file_of(run, last(run, "scene")).read_text())
    assert len(scene["boxes"]) == 2 and len(scene["boxes"][1]["corners"]) == 8


def test_box3d_is_always_a_box():
    rng = np.random.default_rng(3)
    for _ in range(200):
        q = rng.normal(size=4)
        box = localrun.data_types.box3d(
            center=rng.normal(size=3) * 100, size=rng.random(3) * 10, orientation=q, color=(1, 0, 0)
        )
        corners = np.array(box["corners"])
        dists = np.linalg.norm(corners - corners.mean(axis=0), axis=1)
        assert np.std(dists) == pytest.approx(0, abs=1e-6)
