"""Rows batches are checked with a typed fast path (scalar rows checked in C) and a general one.

Whichever path a row takes, a real server refuses the same values and stores the same rows:
bytes, extension types (timestamps included), non-string keys, bad steps. Each case is sent
twice: in a batch of scalar rows only (the whole batch goes through the typed decoder) and in
a batch that also holds a media row (that row, and the rows after it, decoded row by row).
"""

from __future__ import annotations

import hashlib
import sqlite3

import httpx
import msgpack
import pytest

from localrun.server.values import PIECE_BYTES, check_batch
from tests.sync.conftest import Server

MSGPACK = {"Content-Type": "application/msgpack"}
BLOB = b"\x89PNG an image the server has"
SHA = hashlib.sha256(BLOB).hexdigest()
IMAGE = {"_type": "image-file", "format": "png", "path": f"media/{SHA}.png", "sha256": SHA}
RUN = "/api/v1/runs/proj/r1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("decoding") / "data"))
    with httpx.Client(base_url=s.url) as c:
        assert c.put(f"/api/v1/blobs/{SHA}", content=BLOB).status_code == 201
    yield s
    s.stop()


class Api:
    """A client of the real server, and a run of its own there."""

    def __init__(self, client: httpx.Client, run: str):
        self.client = client
        self.run = run

    def post(self, rows: list, **pack) -> httpx.Response:
        return self.post_body(msgpack.packb(rows, **pack))

    def post_body(self, body: bytes) -> httpx.Response:
        return self.client.post(f"{self.run}/rows", content=body, headers=MSGPACK)

    def stored(self) -> dict:
        return self.client.get(self.run).json()

    def read_back(self) -> list:
        return msgpack.unpackb(self.client.get(f"{self.run}/rows").content)


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url) as c:
        run = f"/api/v1/runs/proj/t{len(c.get('/api/v1/runs').json())}"
        assert c.put(run, json={}).status_code == 201
        yield Api(c, run)


def chunks(server: Server) -> list[bytes]:
    db = sqlite3.connect(f"file:{server.data_dir}/runs.sqlite?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT data FROM chunks ORDER BY id")]
    finally:
        db.close()


def with_media(rows: list) -> list:
    """``rows`` (steps from 1) after a media row, so the batch is decoded row by row."""
    return [{"_step": 0, "img": IMAGE}, *rows]


BAD_ROWS = {
    "bytes value": [{"_step": 1, "a": 1.0}, {"_step": 2, "x": b"\x00\x01"}],
    "ext value": [{"_step": 1, "x": msgpack.ExtType(1, b"x")}],
    "timestamp value": [{"_step": 1, "x": msgpack.Timestamp(5, 0)}],
    "timestamp among scalars": [
        {"_step": 1, "a": 1.0, "t": msgpack.Timestamp(1_700_000_000, 0), "b": 2}
    ],
    "integer key": [{"_step": 1, 7: 1.0}],
    "binary key": [{"_step": 1, b"k": 1.0}],
    "bytes nested in a list": [{"_step": 1, "x": [1.0, b"\x00"]}],
    "a row that is a list": [[1, 2.0]],
    "a string step": [{"_step": "1", "a": 1.0}],
    "steps going back": [{"_step": 5, "a": 1.0}, {"_step": 4, "a": 1.0}],
}


@pytest.mark.parametrize("mixed", [False, True], ids=["scalar batch", "batch with media"])
@pytest.mark.parametrize("what", sorted(BAD_ROWS))
def test_values_outside_the_format_are_refused_on_both_paths(server, api, what, mixed):
    rows = BAD_ROWS[what]
    before = chunks(server)
    r = api.post(with_media(rows) if mixed else rows, use_bin_type=True)
    assert r.status_code == 400, r.text
    assert r.json()["error"]
    assert chunks(server) == before
    assert api.stored()["rows"] == 0


@pytest.mark.parametrize("mixed", [False, True], ids=["scalar batch", "batch with media"])
def test_a_timestamp_is_refused_as_a_value_not_stored_as_a_date(server, api, mixed):
    rows = [{"_step": 1, "when": msgpack.Timestamp(1_700_000_000, 0)}]
    r = api.post(with_media(rows) if mixed else rows)
    assert r.status_code == 400
    assert "is not allowed" in r.json()["error"]


GOOD_ROWS = [
    {
        "_step": 1,
        "f": 0.5,
        "nan": float("nan"),
        "inf": float("-inf"),
        "i": -(2**63),
        "u": 2**64 - 1,
    },
    {"_step": 2, "s": "text", "empty": "", "t": True, "f": False, "none": None, "zero": 0},
    {"_step": 2**63 - 1, "unicode ключ": "значение", "train/loss": 1e-300},
]


@pytest.mark.parametrize("mixed", [False, True], ids=["scalar batch", "batch with media"])
def test_good_rows_are_stored_as_sent_and_read_back_the_same(server, api, mixed):
    rows = with_media(GOOD_ROWS[:2]) + [GOOD_ROWS[2]] if mixed else GOOD_ROWS
    body = msgpack.packb(rows)
    r = api.post_body(body)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "inserted": len(rows),
        "ignored": 0,
        "rows": len(rows),
        "last_step": 2**63 - 1,
    }
    assert chunks(server)[-1] == body  # the batch as received
    back = api.read_back()
    assert msgpack.packb(back) == body  # the same values and types (True stays True, not 1)
    assert [type(v) for v in back[-2].values()] == [type(v) for v in rows[-2].values()]


def test_media_the_server_lacks_is_still_found_among_scalar_rows(api):
    missing = "0" * 64
    rows = [
        {"_step": 1, "a": 1.0},
        {"_step": 2, "img": {**IMAGE, "path": f"media/{missing}.png", "sha256": missing}},
    ]
    r = api.post(rows)
    assert r.status_code == 409
    assert r.json()["missing"] == [missing]


# --- check_batch: pieces, offsets, the first bad row ------------------------------------------


def test_a_batch_gives_each_rows_step_and_where_it_starts_in_the_body():
    rows = [
        {"_step": 0, "a": 1.0},
        {"_step": 1, "img": IMAGE},
        {"_step": 2, "x": {"y": [1]}},
        {"_step": 3},
    ]
    body = msgpack.packb(rows)
    batch = check_batch(body)
    assert batch.steps == [0, 1, 2, 3] and batch.refs == {SHA}
    assert [
        msgpack.unpackb(body[a:b]) for a, b in zip(batch.offsets, batch.offsets[1:], strict=False)
    ] == rows
    assert batch.offsets[-1] == len(body)


def test_rows_are_checked_in_pieces_and_every_piece_counts():
    """Many pieces, rows over a piece by themselves, and media rows anywhere among them."""
    rows = [{"_step": i, "s": "x" * 300} for i in range(3000)]
    rows[5]["img"] = IMAGE
    rows[1500]["big"] = "y" * (PIECE_BYTES + 10)
    rows[2999]["nested"] = {"a": [1, {"b": None}]}
    batch = check_batch(msgpack.packb(rows))
    assert batch.steps == list(range(3000)) and batch.refs == {SHA}
    bad = [dict(r) for r in rows]
    bad[2500]["x"] = b"\x00"
    with pytest.raises(ValueError, match="position 2500.*bytes"):
        check_batch(msgpack.packb(bad, use_bin_type=True))
    bad = [dict(r) for r in rows]
    bad[2100]["_step"] = 7
    with pytest.raises(ValueError, match="7 came after 2099"):
        check_batch(msgpack.packb(bad))


def test_a_timestamp_is_refused_on_either_path():
    for rows in (
        [{"_step": 0, "t": msgpack.Timestamp(5, 0)}],
        [{"_step": 0, "img": IMAGE}, {"_step": 1, "t": msgpack.Timestamp(5, 0)}],
    ):
        with pytest.raises(ValueError, match="is not allowed.*datetime"):
            check_batch(msgpack.packb(rows))


def test_the_first_bad_row_is_reported_whichever_path_rows_took():
    """Each bad batch names its first bad row, alone or after a media row (row by row then)."""
    media = {"_step": 0, "img": IMAGE}
    batches = [
        ([{"_step": 1, "x": b"\x00"}, {"_step": 1, "a": 1.0}], "position .*bytes"),
        ([{"_step": 1, "a": 1.0}, {"_step": 1, "x": b"\x00"}], "1 came after 1"),
        ([{"_step": 1, "img": {**IMAGE, "path": "../x"}}, {"_step": "2"}], "media path"),
        ([{"_step": 1, "a": 1.0}, {"_step": "2"}, {"_step": 3, "x": b"\x00"}], "not '2'"),
    ]
    for rows, first in batches:
        for batch in (rows, [media, *rows]):
            with pytest.raises(ValueError, match=first):
                check_batch(msgpack.packb(batch))


def test_a_batch_overlapping_what_is_stored_keeps_its_tail_as_the_bytes_that_came(server, api):
    """The rows already stored are cut off the body as bytes, never decoded and packed again."""
    first = [{"_step": i, "v": float(i)} for i in range(5)]
    assert api.post(first).json()["inserted"] == 5
    before = chunks(server)
    again = [{"_step": i, "v": float(i), "s": "é" * i} for i in range(2, 8)]
    body = msgpack.packb(again)
    r = api.post_body(body)
    assert r.json() == {"inserted": 3, "ignored": 3, "rows": 8, "last_step": 7}
    tail = body[len(msgpack.packb(again[:3])) :]  # rows 5, 6, 7 as sent, after the old header
    assert chunks(server)[len(before)] == b"\x93" + tail
    assert api.read_back() == first + again[3:]
