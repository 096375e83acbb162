"""Table: one JSON file; media in cells become files referenced from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image as PILImage

import localrun
from localrun.errors import MediaError, MediaTypeError

from .readback import file_of, last


def table_json(run, value):
    assert value["_type"] == "table-file"
    return json.loads(file_of(run, value).read_text())


def test_data_and_columns(run):
    data = [["I love my phone", "1", "1"], ["My phone sucks", "0", "-1"]]
    localrun.log(
        {"examples": localrun.Table(data=data, columns=["Text", "Predicted Label", "True Label"])}
    )
    value = last(run, "examples")
    assert (value["ncols"], value["nrows"]) == (3, 2)
    assert table_json(run, value) == {
        "columns": ["Text", "Predicted Label", "True Label"],
        "data": data,
    }


def test_add_data_and_default_columns(run):
    table = localrun.Table()
    table.add_data("a", 1, 2.5)
    table.add_data("b", np.int64(2), np.float32(0.5))
    localrun.log({"t": table})
    body = table_json(run, last(run, "t"))
    assert body == {
        "columns": ["Input", "Output", "Expected"],
        "data": [["a", 1, 2.5], ["b", 2, 0.5]],
    }


def test_add_data_after_logging_is_seen_by_the_next_log(run):
    table = localrun.Table(columns=["x"])
    table.add_data(1)
    localrun.log({"t": table})
    table.add_data(2)
    localrun.log({"t": table})
    from .readback import export

    rows = export(run)
    assert [r["t"]["nrows"] for r in rows] == [1, 2]


def test_images_in_cells_are_files(run):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (4, 5, 3), dtype=np.uint8) for _ in range(2)]
    table = localrun.Table(columns=["ID", "Image"])
    for i, arr in enumerate(arrays):
        table.add_data(i, localrun.Image(arr, masks={"m": {"mask_data": np.full((4, 5), i)}}))
    localrun.log({"Table": table})
    body = table_json(run, last(run, "Table"))
    for (i, cell), arr in zip(body["data"], arrays, strict=True):
        assert cell["_type"] == "image-file"
        with PILImage.open(file_of(run, cell)) as im:
            np.testing.assert_array_equal(np.asarray(im), arr)
        with PILImage.open(file_of(run, cell["masks"]["m"])) as im:
            assert np.asarray(im).max() == i


def test_numpy_2d_data(run):
    localrun.log({"t": localrun.Table(columns=["a", "b"], data=np.arange(6).reshape(3, 2))})
    assert table_json(run, last(run, "t"))["data"] == [[0, 1], [2, 3], [4, 5]]


def test_dataframe(run):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    localrun.log({"t": localrun.Table(dataframe=df)})
    assert table_json(run, last(run, "t")) == {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}


def test_every_row_is_kept_past_10000_with_one_warning(run, capsys):
    big = localrun.Table(columns=["i"], data=[[i] for i in range(10_001)])
    localrun.log({"big": big})
    localrun.log({"big2": localrun.Table(columns=["i"], data=[[i] for i in range(10_002)])})
    err = capsys.readouterr().err
    assert err.count("10000") == 1
    from .readback import export

    rows = export(run)
    assert len(table_json(run, rows[0]["big"])["data"]) == 10_001
    assert rows[1]["big2"]["nrows"] == 10_002


def test_get_and_add_column():
    t = localrun.Table(columns=["a"], data=[[1], [2]])
    t.add_column("b", [3, 4])
    assert t.get_column("b") == [3, 4]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: localrun.Table(columns=["a", "b"]).add_data(1),
            MediaError,
            "1 values for 2 columns",
        ),
        (lambda: localrun.Table(columns=["a", "a"]), MediaError, "duplicate"),
        (lambda: localrun.Table(columns="abc"), MediaTypeError, "list of names"),
        (lambda: localrun.Table(data=5), MediaTypeError, "list of rows"),
        (lambda: localrun.Table(dataframe=[1]), MediaTypeError, "DataFrame"),
    ],
)
def test_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_iterrows_and_index():
    t = localrun.Table(columns=["a"], data=[[1], [2]])
    assert list(t.iterrows()) == [(0, [1]), (1, [2])]
    assert t.get_index() == [0, 1]


def test_arrays_in_cells_are_kept_whole(run):
    localrun.log({"t": localrun.Table(columns=["v"], data=[[np.arange(40)]])})
    assert table_json(run, last(run, "t"))["data"] == [[list(range(40))]]


def test_data_may_be_a_dataframe(run):
    pd = pytest.importorskip("pandas")
    localrun.log({"t": localrun.Table(data=pd.DataFrame({"a": [1]}))})
    assert table_json(run, last(run, "t")) == {"columns": ["a"], "data": [[1]]}
