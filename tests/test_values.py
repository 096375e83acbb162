"""One value contract (issue 10, rows 2, 4 and 6): what log(), summary and config accept is what
localrun/contract.py allows, so a server takes every record. Anything else is refused at the
call with a localrun.Error naming the key path and showing the value; nothing is written, the
step does not move, and the run goes on logging."""

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import localrun
from localrun import contract
from localrun.errors import KeyTypeError, ValueTypeError
from localrun.sync import RunView

from .conftest import examples, history


@pytest.fixture
def run(runs):
    r = localrun.init(dir=runs)
    yield r
    r.finish()


def refused(run, data, error, *shown):
    """log(data) raises ``error`` whose message holds every piece of ``shown``; the next call
    lands at the step the refused one would have had."""
    step = run.step
    with pytest.raises(error) as err:
        run.log(data)
    for piece in shown:
        assert piece in str(err.value), (piece, str(err.value))
    assert run.step == step
    return err.value


def nested(depth: int, leaf=1):
    """``depth`` dicts, one inside the other, around ``leaf``."""
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


# --- row 2: values with no plain form --------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (b"x", "b'x'"),
        (bytearray(b"x"), "bytearray(b'x')"),
        (memoryview(b"x"), "memoryview"),
        (np.bytes_(b"x"), "np.bytes_(b'x')"),
        (np.void(b"x"), "numpy.void"),
        (np.zeros(1, dtype=[("a", "i4")])[0], "numpy.void"),
        (np.complex64(1j), "numpy.complex64"),
        (np.datetime64("2024-01-02"), "numpy.datetime64"),
        (np.array([b"ab", b"cd"]), "b'ab'"),
        (np.array([np.void(b"x")]), "b'x'"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else None,
)
def test_bytes_and_values_with_no_plain_form_are_refused_at_the_call(run, value, shown):
    run.log({"a": 1})
    refused(run, {"ok": 1.0, "bad": value}, ValueTypeError, "'bad'", shown)
    refused(run, {"deep": {"list": [1, value]}}, ValueTypeError, "'deep'/list[1]", shown)
    run.log({"after": 2})
    run.finish()
    rows, view = history(run.dir)
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "after": 2}]
    assert view.damage == []


def test_bytes_are_refused_in_the_summary_and_notes_too(runs):
    run = localrun.init(dir=runs)
    with pytest.raises(ValueTypeError, match=r"'best'.*b'x'"):
        run.summary["best"] = b"x"
    with pytest.raises(ValueTypeError, match=r"'best'/raw.*b'x'"):
        run.summary.update({"best": {"raw": b"x"}})
    with pytest.raises(ValueTypeError, match="notes must be a str or None"):
        run.notes = b"about"
    run.summary["best"] = 1.0
    run.notes = "about"
    run.finish()
    d = RunView(run.dir).to_json()
    assert d["summary"]["best"] == 1.0 and d["notes"] == "about"
    with pytest.raises(ValueTypeError, match=r"notes must be a str or None.*b'x'"):
        localrun.init(dir=runs, id="withnotes", notes=b"x")
    assert not os.path.exists(os.path.join(runs, "withnotes"))


def test_numpy_floats_of_every_width_are_stored_as_floats(run):
    run.log({"ld": np.longdouble(0.25), "f16": np.float16(0.5), "in": {"ld": [np.longdouble(1.5)]}})
    run.finish()
    (row,), _ = history(run.dir)
    assert (row["ld"], row["f16"], row["in"]) == (0.25, 0.5, {"ld": [1.5]})
    assert type(row["ld"]) is float and type(row["in"]["ld"][0]) is float


# --- row 2 and row 6: keys inside values ---------------------------------------------------------


def test_nested_keys_json_would_stringify_are_stored_as_its_text(run):
    run.log(
        {
            "ints": {1: 2, -3: [{4: 5}]},
            "floats": {1.5: 1, math.inf: 2, math.nan: 3},
            "true": {True: 1},
            "none": {None: 1},
            "big": {2**70: 1},
        }
    )
    run.summary["classes"] = {0: "cat", 1: "dog"}
    run.finish()
    (row,), view = history(run.dir)
    assert row["ints"] == {"1": 2, "-3": [{"4": 5}]}
    assert row["floats"] == {"1.5": 1, "Infinity": 2, "NaN": 3}
    assert row["true"] == {"true": 1} and row["none"] == {"null": 1}
    assert row["big"] == {"1180591620717411303424": 1}
    assert view.to_json()["summary"]["classes"] == {"0": "cat", "1": "dog"}


def test_a_nested_tuple_key_is_refused_naming_its_path(run):
    run.log({"a": 1})
    refused(run, {"a": {(1, 2): 3}}, KeyTypeError, "'a'", "(1, 2)", "tuple")
    refused(run, {"a": [{"b": {b"k": 1}}]}, KeyTypeError, "'a'[0]/b", "b'k'")
    refused(run, {"a": {frozenset(): 1}}, KeyTypeError, "frozenset()")
    with pytest.raises(KeyTypeError, match=r"'s'.*\(1, 2\)"):
        run.summary["s"] = {(1, 2): 3}
    run.log({"a": 2})
    run.finish()
    rows, _ = history(run.dir)
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "a": 2}]


def test_two_keys_stored_as_the_same_text_are_refused(run):
    refused(run, {"a": {"b": {1: "int", "1": "str"}}}, KeyTypeError, "'a'/b", "'1'")
    refused(run, {"a": {None: 1, "null": 2}}, KeyTypeError, "None", "'null'")


def test_a_top_level_key_that_is_not_a_str_is_still_refused(run):
    refused(run, {1: 2.0}, KeyTypeError, "1")
    refused(run, {"a": 1.0, None: 2.0}, KeyTypeError, "None")


# --- row 4: nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [contract.MAX_DEPTH + 1, 1_000, 100_000])
def test_nesting_deeper_than_the_limit_is_refused_with_no_recursion_error(run, depth):
    run.log({"a": 1})
    refused(run, {"deep": nested(depth)}, ValueTypeError, "'deep'", "nested deeper than 64")
    deep_list: list = []
    for _ in range(depth):
        deep_list = [deep_list]
    refused(run, {"deep": deep_list}, ValueTypeError, "nested deeper than 64")
    with pytest.raises(ValueTypeError, match="nested deeper than 64"):
        run.summary["deep"] = nested(depth)
    with pytest.raises(ValueTypeError, match="nested deeper than 64"):
        run.config["deep"] = nested(depth)
    run.log({"a": 2})
    run.finish()
    rows, view = history(run.dir)
    assert rows == [{"_step": 0, "a": 1}, {"_step": 1, "a": 2}] and view.damage == []


def test_nesting_up_to_the_limit_is_logged_and_read_back(run):
    value = nested(contract.MAX_DEPTH)
    run.log({"deep": value})
    run.config["deep"] = value
    run.finish()
    (row,), view = history(run.dir)
    assert row["deep"] == value and view.to_json()["config"]["deep"] == value
    assert contract.row_problem(row) is None


# --- config: wandb's rule --------------------------------------------------------------------


def test_config_stores_keys_of_any_type_as_text_and_other_values_as_str(runs):
    run = localrun.init(
        dir=runs,
        config={1: "one", (1, 2): "pair", "n": {2: [3, {None: b"raw"}]}, "ld": np.longdouble(2)},
    )
    run.config.update({True: np.bytes_(b"x"), "big": 2**70})
    run.finish()
    config = RunView(run.dir).to_json()["config"]
    assert config == {
        "1": "one",
        "(1, 2)": "pair",
        "n": {"2": [3, {"null": "b'raw'"}]},
        "ld": 2.0,
        "true": "b'x'",
        "big": float(2**70),
    }
    assert contract.value_problem(config, "config", -1) is None


def test_config_refuses_two_keys_stored_as_the_same_text(runs):
    with pytest.raises(KeyTypeError, match="'1'"):
        localrun.init(dir=runs, id="clash", config={1: "a", "1": "b"})
    assert not os.path.exists(os.path.join(runs, "clash"))


# --- the contract itself, on random values ------------------------------------------------------

_keys = st.one_of(
    st.text(max_size=5),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.tuples(st.integers(0, 2)),
    st.binary(max_size=2),
)
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5),
    st.binary(max_size=3),
    st.sampled_from([np.float32(0.5), np.int64(-2), np.longdouble(1.5), np.bool_(False)]),
    st.sampled_from([np.bytes_(b"z"), np.void(b"v"), np.str_("s")]),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(_keys, inner, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_values)
def test_what_log_accepts_the_contract_accepts(tmp_path_factory, value):
    run = localrun.init(dir=str(tmp_path_factory.mktemp("runs")), id="r")
    try:
        run.log({"v": value})
        accepted = True
    except localrun.Error:
        accepted = False
    try:
        run.summary["s"] = value
    except localrun.Error:
        pass
    try:
        run.config["c"] = value  # anything, as text where need be, but two keys of one text
    except localrun.Error:
        pass
    run.finish()
    rows, view = history(run.dir)
    assert len(rows) == (1 if accepted else 0)
    for row in rows:
        assert contract.row_problem(row) is None
    d = view.to_json()
    assert contract.value_problem(d["summary"], "summary", -1) is None
    assert contract.value_problem(d["config"], "config", -1) is None


@settings(max_examples=examples(500), deadline=None)
@given(value=_values)
def test_a_value_packed_as_it_is_gives_the_bytes_normalize_gives(value):
    # log() packs a value is_plain() accepts without normalize()'s copy: the record must be
    # the same either way.
    import msgpack

    from localrun.values import is_plain, normalize

    data = {"v": value}
    if not is_plain(data):
        return
    try:
        as_is = msgpack.packb(data)
    except OverflowError:
        return  # an int beyond 64 bits: log() then normalizes (and stores a float)
    assert as_is == msgpack.packb(normalize(data, store=None, depth=-1))
    assert contract.value_problem(msgpack.unpackb(as_is), "data", -1) is None
