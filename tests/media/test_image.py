"""Image: arrays, PIL images, files, tensors-as-arrays, masks and boxes, read back exactly."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image as PILImage

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import FIXTURES, export, file_of, last, media_files


def pixels(path) -> np.ndarray:
    with PILImage.open(path) as im:
        return np.asarray(im)


def test_rgb_uint8_array_is_stored_as_png_with_exact_pixels(run):
    arr = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    localrun.log({"img": localrun.Image(arr, caption="random")})
    value = last(run, "img")
    assert value["_type"] == "image-file"
    assert (value["format"], value["width"], value["height"], value["caption"]) == (
        "png",
        40,
        30,
        "random",
    )
    path = file_of(run, value)
    assert path.suffix == ".png"
    np.testing.assert_array_equal(pixels(path), arr)


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((8, 9), "L"), ((8, 9, 1), "L"), ((8, 9, 3), "RGB"), ((8, 9, 4), "RGBA"), ((3, 8, 9), "RGB")],
)
def test_array_shapes_give_the_pil_mode(run, shape, mode):
    arr = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    localrun.log({"img": localrun.Image(arr)})
    path = file_of(run, last(run, "img"))
    with PILImage.open(path) as im:
        assert im.mode == mode
        assert im.size == (9, 8)
    expected = arr.transpose(1, 2, 0) if shape[0] == 3 else arr
    np.testing.assert_array_equal(pixels(path), expected.reshape(pixels(path).shape))


def test_floats_in_0_1_are_scaled_by_255(run):
    arr = np.linspace(0, 1, 16 * 16, dtype=np.float32).reshape(16, 16)
    localrun.log({"img": localrun.Image(arr)})
    np.testing.assert_array_equal(
        pixels(file_of(run, last(run, "img"))), (arr * 255).astype(np.uint8)
    )


def test_floats_in_minus1_1_are_rescaled(run):
    arr = np.linspace(-1, 1, 64, dtype=np.float64).reshape(8, 8)
    localrun.log({"img": localrun.Image(arr)})
    np.testing.assert_array_equal(
        pixels(file_of(run, last(run, "img"))), (255 * 0.5 * (arr + 1)).astype(np.uint8)
    )


def test_other_ranges_are_clipped(run):
    arr = np.array([[-20.0, 3.5], [300.0, 128.9]])
    localrun.log({"img": localrun.Image(arr)})
    np.testing.assert_array_equal(pixels(file_of(run, last(run, "img"))), [[0, 3], [255, 128]])


def test_normalize_false_only_clips(run):
    arr = np.array([[0.0, 0.5], [1.0, 0.25]])
    localrun.log({"img": localrun.Image(arr, normalize=False)})
    np.testing.assert_array_equal(pixels(file_of(run, last(run, "img"))), [[0, 0], [1, 0]])


def test_pil_image_is_stored_as_given(run):
    pil = PILImage.new("LA", (5, 4), (100, 200))
    localrun.log({"img": localrun.Image(pil)})
    path = file_of(run, last(run, "img"))
    with PILImage.open(path) as im:
        assert im.mode == "LA"
        assert im.getpixel((0, 0)) == (100, 200)


def test_a_path_is_stored_byte_for_byte(run, tmp_path):
    src = tmp_path / "photo.jpg"
    shutil.copy(FIXTURES / "sample.jpg", src)
    localrun.log({"img": localrun.Image(str(src))})
    value = last(run, "img")
    assert value["format"] == "jpg"
    assert (value["width"], value["height"]) == (24, 16)
    assert file_of(run, value).read_bytes() == src.read_bytes()


def test_file_type_jpg_encodes_jpeg(run):
    arr = np.full((10, 10, 4), 200, dtype=np.uint8)
    localrun.log({"img": localrun.Image(arr, file_type="jpg")})
    value = last(run, "img")
    path = file_of(run, value)
    assert value["format"] == "jpg" and path.suffix == ".jpg"
    with PILImage.open(path) as im:
        assert im.format == "JPEG" and im.mode == "RGB"


def test_mode_argument_converts(run):
    arr = np.random.default_rng(2).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    localrun.log({"img": localrun.Image(arr, mode="L")})
    with PILImage.open(file_of(run, last(run, "img"))) as im:
        assert im.mode == "L"


def test_masks_store_class_ids_losslessly(run):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    pred = rng.integers(0, 4, (20, 30))
    truth = rng.integers(0, 300, (20, 30))  # past 255: stored as 16-bit
    localrun.log(
        {
            "seg": localrun.Image(
                image,
                masks={
                    "predictions": {
                        "mask_data": pred,
                        "class_labels": {1: "tree", 2: "car", 3: "road"},
                    },
                    "ground_truth": {"mask_data": truth},
                },
            )
        }
    )
    value = last(run, "seg")
    masks = value["masks"]
    assert masks["predictions"]["_type"] == "mask"
    assert masks["predictions"]["class_labels"] == {"1": "tree", "2": "car", "3": "road"}
    np.testing.assert_array_equal(pixels(file_of(run, masks["predictions"])), pred)
    np.testing.assert_array_equal(
        pixels(file_of(run, masks["ground_truth"])).astype(np.int64), truth
    )


def test_mask_from_a_path(run, tmp_path):
    ids = np.arange(12, dtype=np.uint8).reshape(3, 4)
    PILImage.fromarray(ids).save(tmp_path / "mask.png")
    localrun.log(
        {
            "seg": localrun.Image(
                np.zeros((3, 4), np.uint8), masks={"m": {"path": str(tmp_path / "mask.png")}}
            )
        }
    )
    np.testing.assert_array_equal(pixels(file_of(run, last(run, "seg")["masks"]["m"])), ids)


def test_boxes_in_both_position_forms(run):
    boxes = {
        "predictions": {
            "box_data": [
                {
                    "position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4},
                    "class_id": 2,
                    "scores": {"acc": 0.1},
                },
                {
                    "position": {"middle": [150, 20], "width": 68, "height": 112},
                    "domain": "pixel",
                    "class_id": 3,
                    "box_caption": "b",
                },
            ],
            "class_labels": {2: "road"},
        }
    }
    localrun.log({"scene": localrun.Image(np.zeros((200, 200, 3), np.uint8), boxes=boxes)})
    ref = last(run, "scene")["boxes"]["predictions"]
    # As wandb: a boxes2D value naming a JSON file (issue 14); the labels are in both.
    assert ref["_type"] == "boxes2D"
    assert ref["path"].endswith(".boxes2d.json")
    got = json.loads(file_of(run, ref).read_text())
    assert got["class_labels"] == ref["class_labels"] == {"2": "road", "3": "class_3"}
    assert got["box_data"][0] == {
        "position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4},
        "class_id": 2,
        "scores": {"acc": 0.1},
    }
    assert got["box_data"][1] == {
        "position": {"middle": [150, 20], "width": 68, "height": 112},
        "class_id": 3,
        "domain": "pixel",
        "box_caption": "b",
    }


def test_grouping_and_classes_are_kept(run):
    img = localrun.Image(np.zeros((2, 2), np.uint8), grouping=3, classes=[{"id": 1, "name": "cat"}])
    localrun.log({"img": img})
    value = last(run, "img")
    assert value["grouping"] == 3
    assert value["classes"] == [{"id": 1, "name": "cat"}]


def test_a_list_of_images_is_images_separated(run):
    rng = np.random.default_rng(4)
    arrays = [rng.integers(0, 256, (5, 7, 3), dtype=np.uint8) for _ in range(3)]
    localrun.log({"examples": [localrun.Image(a, caption=f"c{i}") for i, a in enumerate(arrays)]})
    value = last(run, "examples")
    assert value["_type"] == "images/separated"
    assert (value["count"], value["width"], value["height"], value["format"]) == (3, 7, 5, "png")
    assert value["captions"] == ["c0", "c1", "c2"]
    for arr, name, sha, size in zip(
        arrays, value["filenames"], value["sha256s"], value["sizes"], strict=True
    ):
        np.testing.assert_array_equal(
            pixels(file_of(run, {"path": name, "sha256": sha, "size": size})), arr
        )


def test_more_than_108_images_keep_the_first_108_and_warn(run, capsys):
    images = [localrun.Image(np.full((2, 2), i, np.uint8)) for i in range(120)]
    localrun.log({"many": images})
    assert "only the first 108" in capsys.readouterr().err
    value = last(run, "many")
    assert value["count"] == 108 and len(value["filenames"]) == 108
    assert pixels(file_of(run, value["filenames"][107]))[0, 0] == 107


def test_same_image_logged_1000_times_is_one_file(run):
    arr = np.random.default_rng(5).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    for i in range(1000):
        localrun.log({"a": localrun.Image(arr), "b": localrun.Image(arr.copy())}, step=i)
    rows = export(run)
    assert len(rows) == 1000
    assert len({row["a"]["path"] for row in rows} | {row["b"]["path"] for row in rows}) == 1
    assert len(media_files(run)) == 1


def test_matplotlib_figure_and_pyplot_become_png_images(run):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([1, 2, 3])
    localrun.log({"fig": fig, "via_image": localrun.Image(fig)})
    plt.figure(figsize=(3, 2), dpi=50)
    plt.plot([3, 1])
    localrun.log({"plt": plt})
    rows = export(run)
    fig_value, img_value, plt_value = rows[0]["fig"], rows[0]["via_image"], rows[1]["plt"]
    assert fig_value["_type"] == "image-file" and (fig_value["width"], fig_value["height"]) == (
        100,
        75,
    )
    assert fig_value["sha256"] == img_value["sha256"]
    with PILImage.open(file_of(run, plt_value)) as im:
        assert im.format == "PNG" and im.size == (150, 100)
    plt.close("all")


def test_image_in_summary(run):
    run.summary["best"] = localrun.Image(np.zeros((3, 3), np.uint8))
    run.finish(quiet=True)
    from .readback import show_json

    value = show_json(run)["summary"]["best"]
    assert value["_type"] == "image-file"
    file_of(run, value)


def test_torch_tensor_chw_is_normalized():
    torch = pytest.importorskip("torch")
    t = torch.rand(3, 4, 5)
    img = localrun.Image(t)
    expected = (t.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(img.image), expected)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "words"),
    [
        (np.zeros((4, 4, 2)), {}, MediaError, "shape (4, 4, 2)"),
        (np.zeros((2, 2, 2, 2)), {}, MediaError, "HxWx3"),
        (np.array([["a"]]), {}, MediaTypeError, "dtype"),
        ({"not": "an image"}, {}, MediaTypeError, "not dict"),
        ("/no/such/file.png", {}, MediaError, "does not exist"),
        (np.zeros((2, 2)), {"file_type": "tiff"}, MediaError, "file_type='tiff'"),
        (
            np.zeros((2, 2)),
            {"masks": {"m": {"mask_data": np.zeros((3, 3, 3))}}},
            MediaError,
            "shape (3, 3, 3)",
        ),
        (
            np.zeros((2, 2)),
            {"masks": {"m": {"mask_data": np.full((2, 2), 0.5)}}},
            MediaError,
            "non-integer",
        ),
        (
            np.zeros((2, 2)),
            {"masks": {"m": {"mask_data": np.full((2, 2), -1)}}},
            MediaError,
            "0..65535",
        ),
        (np.zeros((2, 2)), {"masks": {"m": {}}}, MediaError, "'mask_data'"),
        (np.zeros((2, 2)), {"masks": [np.zeros((2, 2))]}, MediaTypeError, "masks must be a dict"),
        (
            np.zeros((2, 2)),
            {"boxes": {"b": {"box_data": [{"position": {"x": 1}, "class_id": 1}]}}},
            MediaError,
            "minX",
        ),
        (
            np.zeros((2, 2)),
            {
                "boxes": {
                    "b": {"box_data": [{"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}}]}
                }
            },
            MediaTypeError,
            "class_id",
        ),
        (
            np.zeros((2, 2)),
            {
                "boxes": {
                    "b": {
                        "box_data": [
                            {
                                "position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1},
                                "class_id": 1,
                                "domain": "cm",
                            }
                        ]
                    }
                }
            },
            MediaError,
            "domain",
        ),
        (np.zeros((2, 2)), {"boxes": {"b": [1]}}, MediaError, "box_data"),
    ],
)
def test_bad_input_raises_a_media_error_naming_the_argument(run, data, kwargs, error, words):
    with pytest.raises(error) as info:
        localrun.log({"img": localrun.Image(data, **kwargs)})
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)
    localrun.log({"after": 1})
    rows = export(run)
    assert [r.get("after") for r in rows] == [1] and "img" not in rows[0]
    assert not (run.dir and media_files_or_none(run))


def media_files_or_none(run):
    import os

    return os.path.isdir(os.path.join(run.dir, "media")) and media_files(run)


def test_a_side_over_65500_pixels_is_a_value_error():
    with pytest.raises(ValueError, match="65500"):
        localrun.Image(np.zeros((1, 65501), np.uint8))


def test_a_file_that_is_not_an_image(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(MediaError, match="not an image"):
        localrun.Image(str(bad))


def test_an_open_binary_file_is_read():
    with open(FIXTURES / "sample.png", "rb") as f:
        img = localrun.Image(f)
    assert img.format == "png"
    assert np.asarray(img.image).shape == (16, 24, 3)


def test_bytes_io_of_an_image():
    data = (FIXTURES / "sample.png").read_bytes()
    assert localrun.Image(io.BytesIO(data)).format == "png"


class StandInTensor:
    """The three methods Image uses of a torch tensor, for machines without torch.

    (torch itself is never imported by localrun; the real-tensor test above runs where it is.)
    """

    __module__ = "torch"

    def __init__(self, array):
        self.array = array

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.array


def test_a_chw_tensor_is_transposed_and_normalized(run):
    chw = np.random.default_rng(7).random((3, 5, 6)).astype(np.float32)
    localrun.log({"img": localrun.Image(StandInTensor(chw))})
    np.testing.assert_array_equal(
        pixels(file_of(run, last(run, "img"))), (chw.transpose(1, 2, 0) * 255).astype(np.uint8)
    )


def test_a_tensor_with_normalize_false_is_clipped(run):
    chw = np.full((1, 2, 2), 0.9, dtype=np.float32)
    localrun.log({"img": localrun.Image(StandInTensor(chw), normalize=False)})
    np.testing.assert_array_equal(pixels(file_of(run, last(run, "img"))), np.zeros((2, 2)))


def test_a_pil_mode_png_cannot_hold_is_refused_early():
    with pytest.raises(MediaError, match="mode 'F'"):
        localrun.Image(PILImage.new("F", (2, 2)))
    assert localrun.Image(PILImage.new("F", (2, 2)), mode="L").format == "png"


def test_wandb_helper_methods():
    assert localrun.Image.to_uint8(np.array([[0.0, 1.0]])).tolist() == [[0, 255]]
    img = localrun.Image(np.zeros((2, 2), np.uint8))
    assert img.guess_mode(np.zeros((2, 2, 4))) == "RGBA"
    assert localrun.Image.all_captions(
        [img, localrun.Image(np.zeros((2, 2), np.uint8), caption="c")]
    ) == ["", "c"]
    assert localrun.Image.all_captions([img]) is False


# --- wandb's Image methods and values (issue 14) -------------------------------------------------


def test_to_data_array_gives_the_normalized_pixels():
    # wandb's own examples: [-1, 1] data, [0, 1] data, and data clipped to 0..255.
    assert localrun.Image(np.array([[-0.2, 0.6]])).to_data_array() == [[102, 204]]
    assert localrun.Image(np.array([[0.2, 0.3]])).to_data_array() == [[51, 76]]
    assert localrun.Image(np.array([[-9, 0.1, 100, 254.5, 270]])).to_data_array() == [
        [0, 0, 100, 254, 255]
    ]
    rgb = localrun.Image(np.zeros((2, 3, 3), np.uint8)).to_data_array()
    assert len(rgb) == 2 and rgb[0] == [(0, 0, 0)] * 3


def test_images_compare_by_their_pixels_and_captions():
    arr = np.random.default_rng(0).random((30, 30, 3))
    a = localrun.Image(arr)
    assert a == localrun.Image(a)  # wandb: Image(image) equals the image it copies
    assert a == localrun.Image(arr)
    assert a != localrun.Image(arr, caption="other")
    assert a != localrun.Image(1 - arr)
    assert a != "an image"


def test_a_mask_of_another_size_than_the_image_is_kept(run, tmp_path):
    # wandb does not check the mask's size; the viewer stretches the mask over the image.
    ids = np.arange(6, dtype=np.uint8).reshape(2, 3)
    PILImage.fromarray(ids).save(tmp_path / "m.png")
    img = localrun.Image(
        np.zeros((8, 8), np.uint8),
        masks={
            "a": {"mask_data": np.ones((4, 4), np.uint8)},
            "b": {"path": str(tmp_path / "m.png")},
        },
    )
    localrun.log({"seg": img})
    masks = last(run, "seg")["masks"]
    with PILImage.open(file_of(run, masks["a"])) as im:
        assert im.size == (4, 4)
    with PILImage.open(file_of(run, masks["b"])) as im:
        assert np.asarray(im).tolist() == ids.tolist()


@pytest.mark.parametrize("file_type", ["jpg", "jpeg"])
def test_jpeg_drops_alpha_with_wandbs_warning(run, capsys, file_type):
    from localrun.media import image

    image._warned.clear()  # the warning is given once per process, as wandb's
    img = localrun.Image(np.full((4, 4, 4), 200, np.uint8), file_type=file_type)
    assert img.format == file_type
    assert (
        "JPEG format does not support transparency. Ignoring alpha channel."
        in capsys.readouterr().err
    )
    localrun.log({"j": img})
    with PILImage.open(file_of(run, last(run, "j"))) as im:
        assert im.mode == "RGB"


def test_a_list_of_images_with_boxes_names_each_boxes_file(run):
    box = {"position": {"minX": 0, "maxX": 0.5, "minY": 0, "maxY": 0.5}, "class_id": 1}
    imgs = [
        localrun.Image(np.zeros((4, 4), np.uint8), boxes={"p": {"box_data": [box]}}),
        localrun.Image(np.zeros((4, 4), np.uint8)),
    ]
    localrun.log({"imgs": imgs})
    value = last(run, "imgs")
    ref = value["all_boxes"][0]["p"]
    assert value["all_boxes"][1] is None
    assert ref["_type"] == "boxes2D"
    assert json.loads(file_of(run, ref).read_text())["box_data"][0]["class_id"] == 1
