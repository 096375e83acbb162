"""The server accepts exactly the values localrun.contract allows, at its boundaries and in general.

Whatever `log()` returned for must sync, and what the server refuses is what the recorder would
have refused at the call: the same nesting depth (a value under a row's key may nest MAX_DEPTH
containers, not one more; a document's config and summary values the same), the same integer
range, the same types and keys.
"""

from __future__ import annotations

import json

import httpx
import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localrun.contract import MAX_DEPTH, MAX_INT, MIN_INT, row_problem, value_problem
from localrun.server import create_app
from localrun.server.names import BadInput
from localrun.server.values import check_batch, check_document
from localrun.sync.transports import AsyncBridge

from ..conftest import examples

MSGPACK = {"Content-Type": "application/msgpack"}
RUN = "/api/v1/runs/proj/r1"


def nested(levels: int, kind=list):
    value: object = 1.0
    for _ in range(levels):
        value = [value] if kind is list else {"k": value}
    return value


@pytest.fixture
def api(tmp_path):
    app = create_app(str(tmp_path / "data"))
    with httpx.Client(
        base_url="http://inproc", transport=AsyncBridge(httpx.ASGITransport(app))
    ) as c:
        assert c.put(RUN, json={}).status_code == 201
        yield c


def post(api, rows) -> httpx.Response:
    return api.post(f"{RUN}/rows", content=msgpack.packb(rows), headers=MSGPACK)


@pytest.mark.parametrize("kind", [list, dict])
def test_a_row_value_may_nest_max_depth_containers_and_not_one_more(api, kind):
    assert MAX_DEPTH == 64
    ok = post(api, [{"_step": 0, "v": nested(64, kind)}])
    assert ok.status_code == 200, ok.text
    refused = post(api, [{"_step": 1, "v": nested(65, kind)}])
    assert refused.status_code == 400
    assert "nested deeper than 64 containers" in refused.json()["error"]
    assert api.get(RUN).json()["rows"] == 1


def test_the_64_bit_integer_range_is_accepted_to_its_ends(api):
    row = {"_step": 0, "max": MAX_INT, "min": MIN_INT, "in": [MAX_INT, MIN_INT]}
    assert (MAX_INT, MIN_INT) == (2**64 - 1, -(2**63))
    assert post(api, [row]).status_code == 200
    stored = msgpack.unpackb(api.get(f"{RUN}/rows").content)
    assert stored == [row]


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1])
def test_integers_past_64_bits_from_json_are_refused_with_the_contracts_words(api, value):
    doc = {"id": "r1", "project": "proj", "config": {"x": value}}
    r = api.put(f"{RUN}/doc", content=json.dumps(doc), headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "beyond 64 bits" in r.json()["error"]


def test_a_documents_config_value_may_nest_max_depth_containers_as_at_the_call(api):
    for depth, status in ((64, 200), (65, 400)):
        doc = {"id": "r1", "config": {"a": nested(depth)}, "summary": {"b": nested(depth, dict)}}
        r = api.put(f"{RUN}/doc", content=msgpack.packb(doc), headers=MSGPACK)
        assert r.status_code == status, (depth, r.text)


# --- the server and the contract agree on every value --------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=MIN_INT, max_value=MAX_INT),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=3),  # bytes: outside the contract
)
keys = st.one_of(st.text(max_size=4), st.integers(0, 3))  # int keys: outside the contract
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=12,
)


def deep_variant(value, depth: int):
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=examples(300), deadline=None)
@given(value=values, extra_depth=st.sampled_from([0, 0, 60, 62, 63, 64]))
def test_the_server_accepts_a_row_exactly_when_the_contract_does(value, extra_depth):
    row = {"_step": 0, "v": deep_variant(value, extra_depth)}
    expected = row_problem(row) is None
    try:
        body = msgpack.packb([row], use_bin_type=True)
    except (ValueError, TypeError, OverflowError):
        return  # msgpack cannot even carry it
    try:
        check_batch(body)
        accepted = True
    except BadInput:
        accepted = False
    assert accepted == expected, (row, row_problem(row))


@settings(max_examples=examples(200), deadline=None)
@given(value=values, extra_depth=st.sampled_from([0, 62, 63, 64]))
def test_the_server_accepts_a_config_value_exactly_when_the_contract_does(value, extra_depth):
    value = deep_variant(value, extra_depth)
    doc = {"id": "r1", "config": {"k": value}}
    expected = value_problem(value, "'k'", 0) is None
    try:
        check_document(doc)
        accepted = True
    except BadInput as exc:
        accepted = False
        assert "is not allowed" in str(exc)
    assert accepted == expected
