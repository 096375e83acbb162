"""Artifacts through the public API: log versions, aliases, use from another run, download,
the draft and logged states, wandb's errors, and what the integrations call."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time

import pytest

import localrun
from localrun.errors import (
    ArtifactError,
    ArtifactFinalizedError,
    ArtifactNotFoundError,
    ArtifactNotLoggedError,
)
from localrun.reader import RunView

from .sizes import disk_bytes


def _init(runs, **kw):
    return localrun.init(project="proj", dir=runs, **kw)


def _write(path, data: bytes):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_logged_artifact_has_a_version_aliases_and_a_qualified_name(runs, tmp_path):
    run = _init(runs)
    art = localrun.Artifact("model-a", type="model", metadata={"score": 0.5})
    art.add_file(_write(str(tmp_path / "w.bin"), b"x" * 100), name="model.ckpt")
    logged = run.log_artifact(art, aliases=["best"])
    assert logged is art
    assert art.version == "v0"
    assert art.name == "model-a:v0"
    assert art.qualified_name == "proj/model-a:v0"
    assert art.aliases == ["latest", "best"]
    assert art.wait() is art and art.state == "COMMITTED"
    assert art.size == 100 and art.file_count == 1
    assert art.metadata == {"score": 0.5}
    assert len(art.digest) == 64
    assert art.manifest.entries["model.ckpt"].size == 100


def test_versions_count_up_and_aliases_move(runs, tmp_path):
    run = _init(runs)
    f = str(tmp_path / "ckpt")
    for i, aliases in enumerate([["best"], None, ["best"], None]):
        _write(f, f"epoch {i}".encode())
        art = localrun.Artifact("ck", "model")
        art.add_file(f)
        run.log_artifact(art, aliases=aliases)
        assert art.version == f"v{i}"
    assert run.use_artifact("ck:best").version == "v2"
    assert run.use_artifact("ck:latest").version == "v3"
    assert run.use_artifact("ck").version == "v3"
    assert run.use_artifact("ck:v1").aliases == []
    assert run.use_artifact("ck:v3").aliases == ["latest"]
    assert run.use_artifact("proj/ck:v0").version == "v0"
    assert run.use_artifact("someone/proj/ck:v2").aliases == ["best"]


def test_same_contents_as_the_latest_is_not_a_new_version(runs, tmp_path):
    # wandb: "If an artifact has the same digest as the current latest version, log_artifact
    # is a no-op"; the aliases given go to that version.
    run = _init(runs)
    f = _write(str(tmp_path / "a.txt"), b"same")
    first = localrun.Artifact("d", "dataset")
    first.add_file(f)
    run.log_artifact(first)
    again = localrun.Artifact("d", "dataset")
    again.add_file(f)
    run.log_artifact(again, aliases=["prod"])
    assert again.version == "v0"
    assert run.use_artifact("d:prod").version == "v0"


def test_an_unchanged_file_is_stored_once_across_versions(runs, tmp_path):
    # A checkpoint folder saved every epoch: a large frozen part and a small changing one.
    run = _init(runs)
    frozen = os.urandom(2_000_000)
    for _epoch in range(5):
        _write(str(tmp_path / "ck" / "frozen.bin"), frozen)
        _write(str(tmp_path / "ck" / "head.bin"), os.urandom(10_000))
        art = localrun.Artifact("ckpt", "model")
        art.add_dir(str(tmp_path / "ck"))
        run.log_artifact(art)
    used = disk_bytes(os.path.join(runs, ".artifacts", "objects"))
    # 5 versions of 2.01 MB would be 10 MB; stored: one frozen part, five heads, five manifests.
    assert 2_050_000 <= used < 2_000_000 + 5 * 10_000 + 5 * 8192 + 200_000, used
    assert run.use_artifact("ckpt:v4").size == 2_010_000


def test_use_artifact_from_another_run_resolves_in_the_runs_root_and_records_lineage(
    runs, tmp_path
):
    producer = _init(runs, id="producer")
    art = localrun.Artifact("data", "dataset", description="the split")
    art.add_file(_write(str(tmp_path / "train.csv"), b"a,b\n1,2\n"))
    producer.log_artifact(art)
    localrun.finish()

    consumer = _init(runs, id="consumer")
    used = localrun.use_artifact("data:latest", type="dataset")
    assert used.version == "v0" and used.description == "the split"
    assert used.logged_by() == "producer"
    assert used.used_by() == ["consumer"]
    root = used.download(root=str(tmp_path / "got"))
    with open(os.path.join(root, "train.csv"), "rb") as f:
        assert f.read() == b"a,b\n1,2\n"
    localrun.finish()
    doc = RunView(consumer.dir).to_json()
    assert doc["artifacts"]["used"] == [
        {"project": "proj", "name": "data", "version": 0, "type": "dataset", "digest": used.digest}
    ]
    assert RunView(producer.dir).to_json()["artifacts"]["logged"][0]["aliases"] == ["latest"]


def test_download_and_entry_download_write_the_files(runs, tmp_path, monkeypatch):
    run = _init(runs)
    art = localrun.Artifact("bundle", "dataset")
    art.add_dir(str(_tree(tmp_path / "src")), name="data")
    with art.new_file("notes/readme.md", mode="w") as f:
        f.write("hello")
    run.log_artifact(art)
    root = art.download(root=str(tmp_path / "out"))
    assert sorted(_files(root)) == ["data/a.txt", "data/sub/b.bin", "notes/readme.md"]
    path = art.get_entry("data/sub/b.bin").download(str(tmp_path / "one"))
    assert path == os.path.join(str(tmp_path / "one"), "data", "sub", "b.bin")
    monkeypatch.chdir(tmp_path)
    assert art.download() == os.path.join(".", "artifacts", "bundle:v0")
    art.verify(os.path.join(".", "artifacts", "bundle:v0"))
    with pytest.raises(KeyError):
        art.get_entry("missing.txt")


def test_log_model_and_use_model(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = _init(runs)
    localrun.log_model(_write(str(tmp_path / "net.pt"), b"weights"), name="net", aliases=["prod"])
    path = run.use_model("net:prod")
    assert os.path.basename(path) == "net.pt"
    with open(path, "rb") as f:
        assert f.read() == b"weights"
    data = localrun.Artifact("ds", "dataset")
    data.add_file(_write(str(tmp_path / "x"), b"1"))
    run.log_artifact(data)
    with pytest.raises(ArtifactError, match="model"):
        run.use_model("ds:latest")


def test_log_artifact_of_a_path(runs, tmp_path):
    run = _init(runs, id="pathrun")
    art = localrun.log_artifact(_write(str(tmp_path / "d" / "f.txt"), b"1"), type="dataset")
    assert art.name == "run-pathrun-f.txt:v0" and art.type == "dataset"
    folder = run.log_artifact(str(tmp_path / "d"))
    assert folder.name == "run-pathrun-d:v0" and folder.type == "unspecified"
    with pytest.raises(ArtifactError, match="not a file or a folder"):
        run.log_artifact(str(tmp_path / "nothing"))
    with pytest.raises(TypeError, match="a valid file path to log_artifact, not int"):
        run.log_artifact(123)
    with pytest.raises(TypeError, match="not int"):
        run.log_artifact(123, type="model")


def test_drafts_and_logged_artifacts_refuse_what_wandb_refuses(runs, tmp_path):
    art = localrun.Artifact("x", "model")
    for attr in ("version", "aliases", "project", "created_at", "file_count"):
        with pytest.raises(ArtifactNotLoggedError, match=f"Artifact.{attr}"):
            getattr(art, attr)
    with pytest.raises(AttributeError):  # wandb's ArtifactNotLoggedError is an AttributeError
        art.download()
    with pytest.raises(ArtifactNotLoggedError):
        art.get_entry("a")
    run = _init(runs)
    art.add_file(_write(str(tmp_path / "a"), b"a"))
    run.log_artifact(art)
    with pytest.raises(ArtifactFinalizedError, match="add_file"):
        art.add_file(str(tmp_path / "a"), name="b")
    with pytest.raises(ArtifactFinalizedError):
        with art.new_file("c.txt"):
            pass


@pytest.mark.parametrize("name", ["a/b", "", "x" * 129, "a:b", "sp ace", ".."])
def test_bad_artifact_names_are_refused_as_value_errors(name):
    with pytest.raises(ValueError, match="artifact name"):
        localrun.Artifact(name, "model")


@pytest.mark.parametrize("path", ["../test.txt", "/test.txt", r"C:\test.txt", "a/../../b"])
def test_bad_paths_inside_an_artifact_are_refused(tmp_path, path):
    art = localrun.Artifact("ok", "model")
    f = _write(str(tmp_path / "t.txt"), b"t")
    with pytest.raises(ValueError, match="Invalid artifact path"):
        art.add_file(f, name=path)
    with pytest.raises(ValueError, match="Invalid artifact path"):
        with art.new_file(path, "w") as out:
            out.write("x")


def test_reserved_types_bad_aliases_and_type_changes_are_refused(runs, tmp_path):
    with pytest.raises(ValueError, match="reserved for internal use"):
        localrun.Artifact("a", "wandb-history")
    run = _init(runs)
    art = localrun.Artifact("a", "model")
    art.add_file(_write(str(tmp_path / "f"), b"f"))
    with pytest.raises(ValueError, match="alias"):
        run.log_artifact(art, aliases=["a/b"])
    with pytest.raises(ValueError, match="alias"):
        run.log_artifact(art, aliases=["v3"])
    run.log_artifact(art)
    other = localrun.Artifact("a", "dataset")
    other.add_file(_write(str(tmp_path / "g"), b"g"))
    with pytest.raises(ValueError, match="already exists with type 'model'"):
        run.log_artifact(other)


def test_the_same_path_twice_with_other_contents_is_refused_unless_overwrite(tmp_path):
    art = localrun.Artifact("a", "model")
    art.add_file(_write(str(tmp_path / "1"), b"one"), name="f")
    with pytest.raises(ValueError, match="same path twice"):
        art.add_file(_write(str(tmp_path / "2"), b"two"), name="f")
    art.add_file(str(tmp_path / "2"), name="f", overwrite=True)
    with art.new_file("n.txt") as f:
        f.write("x")
    with pytest.raises(ValueError, match="already exists"):
        with art.new_file("n.txt") as f:
            f.write("y")


def test_use_artifact_names_what_is_missing(runs, tmp_path):
    run = _init(runs)
    with pytest.raises(ArtifactNotFoundError, match="no artifact 'nope'"):
        run.use_artifact("nope:latest")
    art = localrun.Artifact("have", "model")
    art.add_file(_write(str(tmp_path / "f"), b"f"))
    run.log_artifact(art, aliases=["best"])
    with pytest.raises(ArtifactNotFoundError, match="v0, latest, best"):
        run.use_artifact("have:v7")
    with pytest.raises(ValueError, match="does not match type"):
        run.use_artifact("have:best", type="dataset")


def test_references_are_recorded_not_fetched(runs, tmp_path):
    run = _init(runs)
    art = localrun.Artifact("refs", "dataset")
    local = _write(str(tmp_path / "big.bin"), b"local file")
    art.add_reference("file://" + local)
    art.add_reference("s3://bucket/path/obj.parquet")
    run.log_artifact(art)
    entry = art.get_entry("obj.parquet")
    assert entry.ref == "s3://bucket/path/obj.parquet" and entry.size is None
    assert art.get_entry("big.bin").size == 10
    with pytest.raises(ArtifactError, match="does not fetch"):
        art.download(root=str(tmp_path / "o"))
    root = art.download(root=str(tmp_path / "o2"), allow_missing_references=True)
    assert _files(root) == ["big.bin"]
    with pytest.raises(ValueError, match="must be URIs"):
        localrun.Artifact("r", "x").add_reference("no-scheme")


def test_a_draft_passed_to_use_artifact_is_logged_then_used(runs, tmp_path):
    run = _init(runs)
    art = localrun.Artifact("draft", "dataset")
    art.add_file(_write(str(tmp_path / "f"), b"f"))
    used = run.use_artifact(art)
    assert used.version == "v0" and used.used_by() == [run.id]


def test_media_objects_can_be_added(runs, tmp_path):
    run = _init(runs)
    art = localrun.Artifact("tables", "dataset")
    art.add(localrun.Table(columns=["a"], data=[[1], [2]]), "scores")
    run.log_artifact(art)
    assert "scores.table.json" in art.manifest.entries
    assert art.get("scores")["_type"] == "table-file"  # our Table value (docs/media.md)


def test_policy_immutable_hard_links_instead_of_copying(runs, tmp_path):
    run = _init(runs)
    src = _write(str(tmp_path / "big"), os.urandom(100_000))
    art = localrun.Artifact("linked", "model")
    art.add_file(src, policy="immutable")
    run.log_artifact(art)
    assert os.stat(src).st_nlink == 2  # the object is the same inode
    with pytest.raises(ValueError, match="policy"):
        localrun.Artifact("p", "m").add_file(src, policy="sometimes")


def test_artifact_calls_after_finish_raise_usage_errors(runs, tmp_path):
    run = _init(runs)
    localrun.finish()
    art = localrun.Artifact("late", "model")
    art.add_file(_write(str(tmp_path / "f"), b"f"))
    with pytest.raises(localrun.errors.UsageError, match="already finished"):
        run.log_artifact(art)
    with pytest.raises(localrun.errors.UsageError, match="localrun.init"):
        localrun.log_artifact(art)


def test_lightning_checkpoint_calls(runs, tmp_path):
    """What lightning.pytorch.loggers.WandbLogger(log_model=True) does per checkpoint."""
    run = _init(runs)
    ckpt = str(tmp_path / "epoch=1.ckpt")
    best = None
    for epoch, score in enumerate([0.9, 0.5, 0.7]):
        _write(ckpt, f"state {epoch}".encode())
        metadata = {
            "score": score,
            "original_filename": os.path.basename(ckpt),
            "ModelCheckpoint": {"monitor": "val_loss", "mode": "min", "save_top_k": 1},
        }
        artifact = localrun.Artifact(name=f"model-{run.id}", type="model", metadata=metadata)
        artifact.add_file(ckpt, name="model.ckpt", policy="mutable")
        is_best = best is None or score < best
        best = score if is_best else best
        run.log_artifact(artifact, aliases=["latest", "best"] if is_best else ["latest"])
    best_art = run.use_artifact(f"model-{run.id}:best", type="model")
    assert best_art.version == "v1" and best_art.metadata["score"] == 0.5
    path = os.path.join(best_art.download(root=str(tmp_path / "dl")), "model.ckpt")
    with open(path, "rb") as f:
        assert f.read() == b"state 1"


def test_transformers_log_model_end_calls(runs, tmp_path):
    """What transformers' WandbCallback does with WANDB_LOG_MODEL=end / checkpoint."""
    run = _init(runs)
    model_dir = _tree(tmp_path / "out")
    artifact = localrun.Artifact(
        name=f"model-{run.id}", type="model", metadata={"final_model": True}
    )
    for name in sorted(os.listdir(model_dir)):
        p = os.path.join(model_dir, name)
        if os.path.isfile(p):
            with artifact.new_file(name, mode="wb") as fa:
                with open(p, "rb") as f:
                    fa.write(f.read())
    localrun.run.log_artifact(artifact, aliases=["final_model"])
    ck = localrun.Artifact(name=f"model-{run.id}", type="model", metadata={"train/loss": 0.1})
    ck.add_dir(model_dir)
    localrun.log_artifact(ck, aliases=["epoch_1.0", "checkpoint_global_step_10"])
    assert ck.version == "v1"
    assert sorted(ck.manifest.entries) == ["a.txt", "sub/b.bin"]
    assert json.loads(json.dumps(ck.metadata)) == {"train/loss": 0.1}


def _tree(root):
    _write(os.path.join(root, "a.txt"), b"alpha")
    _write(os.path.join(root, "sub", "b.bin"), b"\x00\x01beta")
    return root


def _files(root):
    out = []
    for folder, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/") for f in files]
    return sorted(out)


def test_a_file_changed_in_place_is_read_again_whatever_the_stat_cache_holds(runs, tmp_path):
    run = _init(runs)
    f = _write(str(tmp_path / "weights.bin"), b"A" * 4096)
    time.sleep(2.1)  # older than the cache's racy window: remembered by its stat
    first = localrun.Artifact("w", "model")
    first.add_file(f)
    run.log_artifact(first)
    with open(os.path.join(runs, ".artifacts", "stat-cache")) as cache:
        assert cache.read().split()[1] == first.manifest.entries["weights.bin"].digest
    with open(f, "r+b") as out:  # the same size, rewritten in place: its ctime moves
        out.write(b"B" * 4096)
    second = localrun.Artifact("w", "model")
    second.add_file(f)
    run.log_artifact(second)
    assert second.version == "v1"
    got = second.download(root=str(tmp_path / "got"))
    with open(os.path.join(got, "weights.bin"), "rb") as g:
        assert g.read() == b"B" * 4096


def test_save_logs_a_draft_to_the_current_run_and_paths_survive_a_chdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = localrun.init(project="proj", dir="runs")
    art = localrun.Artifact("saved", "dataset")
    art.add_file(_write(str(tmp_path / "f.txt"), b"f"))
    art.save()
    assert art.version == "v0" and art.logged_by() == run.id
    os.makedirs(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert _files(art.download(root="out")) == ["f.txt"]


def test_a_damaged_stored_file_is_refused_on_download_and_nothing_is_written(runs, tmp_path):
    run = _init(runs)
    art = localrun.Artifact("fragile", "model")
    art.add_file(_write(str(tmp_path / "w.bin"), b"good bytes" * 1000))
    run.log_artifact(art)
    sha = art.get_entry("w.bin").digest
    obj = os.path.join(runs, ".artifacts", "objects", sha[:2], sha)
    os.chmod(obj, 0o644)
    with open(obj, "r+b") as f:
        f.write(b"BAD")
    dest = tmp_path / "dl"
    with pytest.raises(ArtifactError, match="is damaged"):
        art.download(root=str(dest))
    assert not (dest / "w.bin").exists() and os.listdir(dest) == []


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs a tmpfs at /dev/shm")
def test_a_file_on_another_filesystem_is_copied_through_the_process(runs, tmp_path):
    # The kernel will not copy_file_range from tmpfs to the runs' filesystem (EXDEV): the
    # store reads, hashes and writes it itself (on a worker thread, for a large file).
    data = os.urandom(9 * 1024 * 1024)
    fd, path = tempfile.mkstemp(dir="/dev/shm")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        run = _init(runs)
        art = localrun.Artifact("shm", "dataset")
        art.add_file(path, name="blob.bin")
        run.log_artifact(art)
        assert art.get_entry("blob.bin").digest == hashlib.sha256(data).hexdigest()
        got = art.download(root=str(tmp_path / "got"))
        with open(os.path.join(got, "blob.bin"), "rb") as f:
            assert f.read() == data
    finally:
        os.remove(path)
