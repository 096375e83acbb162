"""Table: one JSON file; media in cells become files referenced from it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image as PILImage

import localrun
from localrun.errors import MediaError, MediaTypeError, MediaUsageError

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


# --- wandb's Table rules (issue 14) --------------------------------------------------------------

TABLE_DATA = [["a", 1, True], ["b", 2, False], ["c", 3, True]]


@pytest.mark.parametrize(
    "call",
    [
        lambda: localrun.Table(TABLE_DATA),  # rows where the column names go
        lambda: localrun.Table(np.array(TABLE_DATA)),
        lambda: localrun.Table(dataframe=TABLE_DATA),
    ],
)
def test_rows_passed_as_columns_raise_as_in_wandb(call):
    with pytest.raises(AssertionError) as info:
        call()
    assert isinstance(info.value, MediaError)
    assert "data=" in str(info.value)


def test_rows_as_columns_names_the_row():
    with pytest.raises(MediaUsageError, match=r"\['a', 1, True\].*looks like a row"):
        localrun.Table(TABLE_DATA)


def test_a_dataframe_as_columns_raises():
    pd = pytest.importorskip("pandas")
    with pytest.raises(AssertionError, match="DataFrame"):
        localrun.Table(pd.DataFrame(TABLE_DATA))
    assert localrun.Table(data=pd.DataFrame(TABLE_DATA)).data == TABLE_DATA


def test_mixed_types_in_a_column_raise_naming_column_value_and_fix():
    t = localrun.Table(columns=["name", "score"])
    t.add_data("a", 1)
    t.add_data("b", 2.5)  # int and float are both numbers
    with pytest.raises(TypeError) as info:
        t.add_data("c", "high")
    msg = str(info.value)
    assert "'score'" in msg and "numbers" in msg and "'high'" in msg and "allow_mixed_types" in msg
    assert len(t.data) == 2  # the row was not added
    t.add_data(None, None)  # columns take None unless optional=False
    t.add_data("d", float("nan"))  # NaN is None, as in wandb


def test_none_in_a_column_that_is_not_optional_raises():
    t = localrun.Table(columns=["a", "b"], optional=[False, True])
    t.add_data(1, None)
    with pytest.raises(TypeError, match=r"column 'a' does not take None.*optional=True"):
        t.add_data(None, 2)
    with pytest.raises(TypeError, match="does not take None"):
        localrun.Table(columns=["a"], data=[[float("nan")]], optional=False)


def test_allow_mixed_types_and_dtype():
    t = localrun.Table(columns=["a"], allow_mixed_types=True)
    for v in (1, "x", [1], None):
        t.add_data(v)
    t = localrun.Table(columns=["n", "s"], dtype=[int, str])
    t.add_data(1, "x")
    t.add_data(1.5, None)
    with pytest.raises(TypeError, match="'s'"):
        t.add_data(1, 2)
    images = localrun.Table(columns=["img"], dtype=localrun.Image)
    images.add_data(localrun.Image(np.zeros((2, 2), np.uint8)))
    with pytest.raises(TypeError):
        images.add_data("not an image")


def test_list_dict_and_array_cells_follow_wandb_rules():
    t = localrun.Table(columns=["l"], data=[[[1, 2]], [[3]]])  # lists: any length, same elements
    with pytest.raises(TypeError):
        t.add_data(["x"])
    d = localrun.Table(columns=["d"], data=[[{"a": 1, "b": "x"}]])
    with pytest.raises(TypeError):
        d.add_data({"a": 1, "b": "x", "c": 2})  # a key the column has not got
    arrays = localrun.Table(columns=["arr"], data=np.zeros((3, 1, 4, 4)))  # an array per cell
    arrays.add_data(np.ones((4, 4)))
    arrays.add_data(np.ones((4, 4)).tolist())
    with pytest.raises(TypeError):
        arrays.add_data(np.ones((5, 4)))


def test_cast_set_pk_set_fk_and_add_row():
    a = localrun.Table(columns=["id", "v"], data=[["1", "x"], ["2", "y"]])
    a.set_pk("id")
    a.add_row("3", "z")  # wandb's old name for add_data
    assert [row[0] for row in a.data] == ["1", "2", "3"]
    assert all(row[0]._table is a and row[0]._col_name == "id" for row in a.data)
    with pytest.raises(TypeError):
        a.add_data(None, "w")  # a key is never None
    with pytest.raises(AssertionError, match="primary key already"):
        a.set_pk("v")
    b = localrun.Table(columns=["fk", "w"], data=[["1", 1.0], ["3", 2.0]])
    b.set_fk("fk", a, "id")
    assert all(row[0]._table is a and row[0]._col_name == "id" for row in b.data)
    numbers = localrun.Table(columns=["id"], data=[[1], [2]])
    with pytest.raises(TypeError):
        numbers.set_pk("id")  # keys are strings
    assert [row[0].__class__ for row in numbers.data] == [int, int]
    c = localrun.Table(columns=["x"], data=[[1], [2]])
    assert isinstance(c.cast("x", float), object)
    with pytest.raises(TypeError):
        c.cast("x", str)


def test_row_indexes_link_tables(run):
    a = localrun.Table(columns=["b"], data=[["p"], ["q"]])
    t = localrun.Table(columns=["row", "c"])
    for ndx, _ in a.iterrows():
        t.add_data(ndx, "x")
    t.add_data(1, "y")
    with pytest.raises(TypeError):
        t.add_data(None, "z")
    assert all(row[0]._table is a for row in t.data)
    localrun.log({"t": t, "a": a})
    assert table_json(run, last(run, "t"))["data"] == [[0, "x"], [1, "x"], [1, "y"]]


def test_columns_empty_then_add_column(run):
    t = localrun.Table(columns=[], data=[])
    t.add_column("number", [1, 2, 3])
    t.add_data(4)
    with pytest.raises(AssertionError, match="1 values for 4 rows"):
        t.add_column("strings", ["a"])
    t.add_column("strings", ["a", "b", "c", "d"])
    t.add_column("np", np.array([101, 102, 103, 104]))
    assert t.get_column("np", convert_to="numpy").tolist() == [101, 102, 103, 104]
    with pytest.raises(TypeError):
        t.add_column("mixed", [1, "a", 2, 3])
    assert t.columns == ["number", "strings", "np"]
    localrun.log({"t": t})
    assert table_json(run, last(run, "t"))["data"] == [
        [1, "a", 101],
        [2, "b", 102],
        [3, "c", 103],
        [4, "d", 104],
    ]


def test_tables_compare_equal_as_in_wandb():
    a = localrun.Table(data=[[1, 2, 3], [4, 5, 6]])
    assert a == localrun.Table(data=[[1, 2, 3], [4, 5, 6]])
    assert a != localrun.Table(data=[[1, 2, 3], [4, 5, 100]])
    assert a != localrun.Table(data=[[1, 2, 3], [4, 5, 6]], columns=["a", "b", "c"])
    assert localrun.Table(data=[[1, 2, 3]]) != localrun.Table(data=[["1", "2", "3"]])
    with pytest.raises(AssertionError, match="rows"):
        a._eq_debug(localrun.Table(data=[[1, 2, 3]]), True)


def test_dates_and_times_are_epoch_milliseconds(run):
    import datetime

    t = localrun.Table(
        columns=["dt", "d", "np", "n"],
        data=[
            [
                datetime.datetime(2000, 12, d),
                datetime.date(2000, 12, d),
                np.datetime64(f"2000-12-0{d}"),
                d,
            ]
            for d in (1, 2)
        ],
    )
    localrun.log({"t": t})
    assert table_json(run, last(run, "t"))["data"] == [
        [975628800000, 975628800000, 975628800000, 1],
        [975715200000, 975715200000, 975715200000, 2],
    ]


def test_a_dataframe_with_datetime64_and_timestamps(run):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "when": pd.to_datetime(["2000-12-01", "2000-12-02", None]),
            "x": [1.0, 2.0, 3.0],
        }
    )
    stamps = localrun.Table(columns=["ts"], data=[[pd.Timestamp("2000-12-01", tz="UTC")]])
    localrun.log({"df": localrun.Table(dataframe=df), "ts": stamps})
    assert table_json(run, last(run, "df"))["data"] == [
        [975628800000, 1.0],
        [975715200000, 2.0],
        [None, 3.0],
    ]
    assert table_json(run, last(run, "ts"))["data"] == [[975628800000]]


def test_float128_cells_and_values(run):
    if not hasattr(np, "float128"):
        pytest.skip("no np.float128 on this platform")
    localrun.log(
        {"t": localrun.Table(columns=["f"], data=[[np.float128(1.5)]]), "f": np.float128(2.5)}
    )
    assert table_json(run, last(run, "t"))["data"] == [[1.5]]
    assert last(run, "f") == 2.5


def test_log_mode_must_be_known():
    with pytest.raises(AssertionError, match="INVALID_MODE"):
        localrun.Table(log_mode="INVALID_MODE")


def test_immutable_warns_once_when_a_logged_table_changes(run, capsys):
    t = localrun.Table(columns=["a"], data=[[1]])
    assert t.log_mode == "IMMUTABLE"
    localrun.log({"t": t})
    t.add_data(2)
    t.add_data(3)
    localrun.log({"t": t})
    err = capsys.readouterr().err
    assert err.count("You are mutating a Table with log_mode='IMMUTABLE'") == 1
    from .readback import export

    values = [r["t"] for r in export(run)]
    assert [v["log_mode"] for v in values] == ["IMMUTABLE", "IMMUTABLE"]
    assert [v["nrows"] for v in values] == [1, 3]  # stored again, as documented


def test_mutable_relogs_without_a_warning(run, capsys):
    t = localrun.Table(columns=["a"], data=[[1]], log_mode="MUTABLE")
    localrun.log({"t": t})
    t.add_data(2)
    localrun.log({"t": t})
    assert "IMMUTABLE" not in capsys.readouterr().err
    from .readback import export

    values = [r["t"] for r in export(run)]
    assert values[0]["path"] != values[1]["path"]
    assert [table_json(run, v)["data"] for v in values] == [[[1]], [[1], [2]]]


def test_incremental_logs_only_the_new_rows(run):
    t = localrun.Table(columns=["a"], data=[[1]], log_mode="INCREMENTAL")
    localrun.log({"t": t})
    t.add_data(2)
    t.add_data(3)
    localrun.log({"t": t})
    localrun.log({"t": t})  # nothing new: the same value
    from .readback import export

    first, second, third = (r["t"] for r in export(run))
    assert first["_type"] == second["_type"] == "incremental-table-file"
    assert (first["increment_num"], first["nrows"], first["log_mode"]) == (0, 1, "INCREMENTAL")
    assert (second["increment_num"], second["nrows"]) == (1, 3)
    assert second["previous_increments_paths"] == [first["path"]]
    assert third == second
    assert json.loads(file_of(run, first).read_text())["data"] == [[1]]
    assert json.loads(file_of(run, second).read_text())["data"] == [[2], [3]]


def test_incremental_refuses_add_column_and_warns_past_100_increments(run, capsys):
    t = localrun.Table(columns=["a"], data=[[0]], log_mode="INCREMENTAL")
    with pytest.raises(localrun.Error, match="'add_column' is not supported"):
        t.add_column("b", [1])
    localrun.log({"t": t})
    for i in range(1, 101):
        t.add_data(i)
        if i < 100:
            localrun.log({"t": t})
    err = capsys.readouterr().err
    assert err.count("You have exceeded 100 increments for this table") == 1
