"""A run's files (issue 13 item 3, issue 14's save and log_code): run.save(), run.log_code()
and what the script writes into run.dir are kept with the run, in files/, and verified."""

from __future__ import annotations

import json
import os

import pytest

import localrun

from .conftest import cli


def manifest(run_dir):
    with open(os.path.join(run_dir, "files.json")) as f:
        return json.load(f)["files"]


def kept(run_dir, rel):
    with open(os.path.join(run_dir, "files", *rel.split("/"))) as f:
        return f.read()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("a1")
    (tmp_path / "sub" / "b.txt").write_text("b1")
    (tmp_path / "sub" / "c.csv").write_text("c")
    (tmp_path / "notes.md").write_text("n1")
    return tmp_path


def test_save_copies_globs_by_policy_as_wandb_does(workdir):
    run = localrun.init(dir="runs", id="s1")
    saved = run.save("sub/*.txt")  # live: now, and again at finish if changed
    assert sorted(saved) == [
        os.path.join(run.dir, "files", "sub", "a.txt"),
        os.path.join(run.dir, "files", "sub", "b.txt"),
    ]
    assert kept(run.dir, "sub/a.txt") == "a1"
    run.save("notes.md", policy="end")
    assert not os.path.exists(os.path.join(run.dir, "files", "notes.md"))
    run.save(str(workdir / "sub" / "c.csv"), policy="now")  # absolute: kept as sub/c.csv
    (workdir / "sub" / "a.txt").write_text("a2, longer")
    (workdir / "notes.md").write_text("n2")
    (workdir / "sub" / "c.csv").write_text("changed after a 'now' save")
    run.finish()
    assert kept(run.dir, "sub/a.txt") == "a2, longer"  # live: copied again
    assert kept(run.dir, "sub/b.txt") == "b1"
    assert kept(run.dir, "notes.md") == "n2"  # end: copied at finish
    assert kept(run.dir, "sub/c.csv") == "c"  # now: as it was
    files = manifest(run.dir)
    assert sorted(files) == ["notes.md", "sub/a.txt", "sub/b.txt", "sub/c.csv"]
    assert files["sub/a.txt"]["size"] == len("a2, longer")
    assert [files[k]["policy"] for k in sorted(files)] == ["end", "live", "live", "now"]


def test_save_with_base_path_and_its_refusals(workdir):
    run = localrun.init(dir="runs", id="s2")
    assert run.save(str(workdir / "sub" / "*.csv"), base_path=str(workdir)) == [
        os.path.join(run.dir, "files", "sub", "c.csv")
    ]
    with pytest.raises(ValueError, match="may not walk above the base path"):
        run.save(str(workdir / ".." / "x.txt"), base_path=str(workdir))
    with pytest.raises(ValueError, match="may not start with '\\*'"):
        run.save(str(workdir / "*" / "a.txt"))
    with pytest.raises(ValueError, match="is not a policy"):
        run.save("notes.md", policy="sometimes")
    with pytest.raises(localrun.Error, match="is a URL|that is a URL"):
        run.save("s3://bucket/x")
    assert localrun.save("notes.md", policy="now")  # the module-level name, on the current run
    run.finish()
    with pytest.raises(localrun.Error, match="cannot save files to run s2"):
        run.save("notes.md")


def test_files_written_into_run_dir_are_kept_at_finish(workdir):
    run = localrun.init(dir="runs", id="s3")
    with open(os.path.join(run.dir, "model.h5"), "w") as f:
        f.write("weights")
    os.makedirs(os.path.join(run.dir, "checkpoints"))
    with open(os.path.join(run.dir, "checkpoints", "last.ckpt"), "w") as f:
        f.write("ckpt")
    run.log({"loss": 1.0})
    run.finish()
    files = manifest(run.dir)
    assert sorted(files) == ["checkpoints/last.ckpt", "model.h5"]
    assert kept(run.dir, "model.h5") == "weights"
    # Linked, not copied: a multi-GB checkpoint costs no second copy.
    assert os.path.samefile(
        os.path.join(run.dir, "model.h5"), os.path.join(run.dir, "files", "model.h5")
    )
    # The format's own names are not files; the run reads back as before, with its files.
    doc = json.loads(cli("show", run.dir, "--json").stdout)
    assert doc["rows"] == 1 and [f["path"] for f in doc["files"]] == [
        "checkpoints/last.ckpt",
        "model.h5",
    ]


def test_log_code_saves_source_files_under_code(workdir):
    (workdir / "train.py").write_text("print('train')")
    (workdir / "sub" / "model.py").write_text("class M: ...")
    (workdir / ".venv").mkdir()
    (workdir / ".venv" / "x.py").write_text("no")
    run = localrun.init(dir="runs", id="s4")
    (workdir / "runs" / "stray.py").write_text("not code of the project")
    saved = run.log_code(".")
    assert sorted(os.path.relpath(p, run.dir) for p in saved) == [
        os.path.join("files", "code", "sub", "model.py"),
        os.path.join("files", "code", "train.py"),
    ]
    run.log_code(".", include_fn=lambda path, root: path.endswith(".md"))
    run.log_code(".", include_fn=lambda p: p.endswith(".txt"), exclude_fn=lambda p: "b." in p)
    run.finish()
    assert sorted(manifest(run.dir)) == [
        "code/notes.md",
        "code/sub/a.txt",
        "code/sub/model.py",
        "code/train.py",
    ]


def test_verify_checks_run_files(workdir):
    run = localrun.init(dir="runs", id="s5")
    run.save("sub/*.txt", policy="now")
    run.finish()
    ok = cli("verify", run.dir)
    assert ok.returncode == 0 and "2 run files: sound" in ok.stderr
    with open(os.path.join(run.dir, "files", "sub", "a.txt"), "a") as f:
        f.write("flipped")
    os.remove(os.path.join(run.dir, "files", "sub", "b.txt"))
    bad = cli("verify", run.dir, check=False)
    assert bad.returncode == 1
    assert "files/sub/a.txt: its sha256 is" in bad.stdout
    assert "changed or damaged since it was saved" in bad.stdout
    assert "files/sub/b.txt: saved with the run but missing" in bad.stdout
    report = json.loads(cli("verify", run.dir, "--json", check=False).stdout)["runs"][0]
    assert report["run_files"] == 2 and len(report["damaged"]) == 2


def test_a_run_without_files_reads_as_before(tmp_path):
    run = localrun.init(dir=str(tmp_path / "runs"), id="plain")
    run.log({"x": 1})
    run.finish()
    assert not os.path.exists(os.path.join(run.dir, "files.json"))
    assert "files" not in json.loads(cli("show", run.dir, "--json").stdout)
    done = cli("verify", run.dir)
    assert "run files" not in done.stderr
