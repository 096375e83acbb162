"""Media storage promises: content addressing, files whole before records, cheap import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np

import localrun
from localrun.blobs import BlobStore

from .readback import export, file_of, media_files


def test_identical_bytes_from_different_types_and_keys_are_one_file(run, tmp_path):
    wav = tmp_path / "a.wav"
    localrun.Audio(np.zeros(10), sample_rate=10)  # warm up
    audio = localrun.Audio(np.zeros(10), sample_rate=10)
    wav.write_bytes(audio._bytes)
    localrun.log({"x": audio, "y": localrun.Audio(str(wav)), "z": [audio, audio]})
    row = export(run)[0]
    assert row["x"]["sha256"] == row["y"]["sha256"] == row["z"]["audio"][0]["sha256"]
    assert len(media_files(run)) == 1


def test_no_temporary_files_are_left(run):
    for i in range(20):
        localrun.log({"img": localrun.Image(np.full((4, 4), i, np.uint8))})
    run.finish(quiet=True)
    names = os.listdir(os.path.join(run.dir, "media"))
    assert len(names) == 20 and not [n for n in names if n.startswith(".")]


def test_sync_later_fsyncs_on_sync(tmp_path):
    store = BlobStore(str(tmp_path), sync_later=True)
    store.put(b"abc", "bin")
    assert len(store._unsynced) == 1
    store.sync()
    assert store._unsynced == []


def test_a_logged_image_survives_kill_9(tmp_path):
    """The file is renamed into place before the record is written: kill -9 loses neither."""
    script = textwrap.dedent(
        f"""
        import os, signal, numpy as np, localrun
        run = localrun.init(dir={str(tmp_path)!r}, id="killed", settings={{"quiet": True}})
        for i in range(5):
            localrun.log({{"img": localrun.Image(np.full((8, 8, 3), i * 40, np.uint8))}})
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    rows = export(str(tmp_path / "killed"))
    assert len(rows) == 5
    from PIL import Image

    for i, row in enumerate(rows):
        with Image.open(file_of(str(tmp_path / "killed"), row["img"])) as im:
            assert im.getpixel((0, 0)) == (i * 40,) * 3


def test_import_localrun_and_naming_media_types_imports_no_heavy_library():
    code = textwrap.dedent(
        """
        import sys, localrun
        for name in ("Image", "Video", "Audio", "Table", "Html", "Object3D", "Molecule", "Histogram", "plot", "plot_table"):
            getattr(localrun, name)
        heavy = [m for m in ("numpy", "PIL", "av", "matplotlib", "torch", "pandas") if m in sys.modules]
        print(",".join(heavy))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_every_public_media_name_is_exported():
    for name in (
        "Image",
        "Video",
        "Audio",
        "Table",
        "Html",
        "Object3D",
        "Molecule",
        "Histogram",
        "plot",
        "plot_table",
    ):
        assert name in localrun.__all__
        assert getattr(localrun, name) is not None
    assert callable(localrun.plot.pr_curve)


def test_verify_finds_every_media_type_sound_and_a_damaged_file(run):
    from click.testing import CliRunner

    from localrun.cli import main

    localrun.log(
        {
            "img": localrun.Image(np.zeros((4, 4, 3), np.uint8)),
            "imgs": [
                localrun.Image(np.ones((4, 4), np.uint8)),
                localrun.Image(np.full((4, 4), 2, np.uint8)),
            ],
            "aud": [localrun.Audio(np.zeros(8), sample_rate=8)],
            "t": localrun.Table(columns=["i"], data=[[1]]),
        }
    )
    run.finish(quiet=True)
    result = CliRunner().invoke(main, ["verify", run.dir])
    assert result.exit_code == 0, result.output
    victim = media_files(run)[0]
    victim.write_bytes(b"damaged")
    result = CliRunner().invoke(main, ["verify", run.dir])
    assert result.exit_code != 0
    assert victim.name in result.output


class LogsWhileEncoding(localrun.Media):
    """Logs from inside its own encoding, as a signal handler firing mid-encode would."""

    _type = "image-file"

    def _encode(self, store):
        localrun.log({"from_handler": 1.5}, commit=False)  # plain values: one pack, no second pass
        localrun.log({"img": localrun.Image(np.full((2, 2), 9, np.uint8))}, commit=False)
        return localrun.Image(np.zeros((2, 2), np.uint8)).to_json(store)


def test_a_log_from_inside_media_encoding_corrupts_neither_record(run):
    localrun.log({"outer": LogsWhileEncoding(), "x": 2})
    localrun.log({"outer": [LogsWhileEncoding(), LogsWhileEncoding()]})
    run.finish(quiet=True)
    from click.testing import CliRunner

    from localrun.cli import main

    result = CliRunner().invoke(main, ["verify", run.dir])
    assert result.exit_code == 0, result.output
    rows = export(run)
    assert rows[0]["from_handler"] == 1.5 and rows[0]["x"] == 2
    assert rows[0]["outer"]["_type"] == "image-file" and rows[0]["img"]["_type"] == "image-file"
    assert [v["_type"] for v in rows[1]["outer"]] == ["image-file", "image-file"]
