"""One walk finds the media files a value names: sync sends them, the server requires them,
verify checks them, the viewer serves them."""

from __future__ import annotations

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from localrun.mediarefs import SHA256, blob_of, file_refs, files_named, hash_in_name, media_values
from localrun.server.values import check_batch, check_document

A, B, C = "a" * 64, "b" * 64, "c" * 64


def image(sha: str, ext: str = "png") -> dict:
    return {"_type": "image-file", "path": f"media/{sha}.{ext}", "sha256": sha, "size": 1}


def test_a_reference_names_the_sha256_beside_it_else_the_one_in_its_name():
    assert blob_of(f"media/{A}.png", None) == A
    assert blob_of("media/cat.png", B) == B
    assert blob_of(f"media/{A}.png", B) == B  # the value says; verify compares the two
    assert blob_of("media/cat.png", None) is None
    assert hash_in_name(f"{A}.table.json") == A and hash_in_name(A) == A
    assert hash_in_name(A + "0.png") is None and hash_in_name(A.upper() + ".png") is None


def test_the_walk_finds_path_and_filenames_anywhere_in_a_value():
    value = {
        "img": image(A),
        "audio": {"_type": "audio", "audio": [{"_type": "audio-file", "path": f"media/{B}.wav"}]},
        "video": {"_type": "images/separated", "filenames": [f"media/{C}.png", 7, "media/x"]},
        "plain": {"path": f"media/{A}.png"},  # no _type: a user's own dict, not a media value
    }
    assert [m["_type"] for m in media_values(value)] == [
        "image-file",
        "audio",
        "audio-file",
        "images/separated",
    ]
    assert list(file_refs(value["video"])) == [(f"media/{C}.png", None), ("media/x", None)]
    assert files_named(value) == {A: f"media/{A}.png", B: f"media/{B}.wav", C: f"media/{C}.png"}


def test_the_walk_follows_a_value_nested_deeper_than_python_recurses():
    value: object = image(A)
    for _ in range(5000):
        value = [value]
    assert files_named({"k": value}) == {A: f"media/{A}.png"}


def test_a_media_value_at_the_top_counts_and_scalars_name_nothing():
    assert files_named(image(A)) == {A: f"media/{A}.png"}
    assert files_named([1, "media/x", None]) == {} and files_named(3.0) == {}


def test_sha256_is_64_lowercase_hex_digits_and_nothing_after():
    assert SHA256.fullmatch(A) and not SHA256.fullmatch(A + "\n")
    assert not SHA256.fullmatch(A[:-1]) and not SHA256.fullmatch(A.upper())


shas = st.sampled_from([A, B, C, "d" * 64])
refs = st.one_of(
    shas.map(image),
    shas.map(lambda s: {"_type": "video-file", "path": f"media/v.{s[:4]}.mp4", "sha256": s}),
    st.lists(shas, max_size=3).map(
        lambda ss: {"_type": "images/separated", "filenames": [f"media/{s}.png" for s in ss]}
    ),
)
values = st.recursive(
    st.one_of(st.floats(allow_nan=False), st.text(max_size=3), refs),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=3).filter(lambda k: k[0] != "_"), values))
def test_the_server_requires_exactly_the_files_sync_sends(data):
    sent = files_named([data])  # what push collects from a batch of rows
    batch = check_batch(msgpack.packb([{"_step": 0, **data}]))
    assert batch.refs == set(sent)
    assert check_document({"summary": data}) == set(sent)
