"""``localrun run -- COMMAND``: `import wandb` anywhere in the command's process tree is localrun.

Every test runs the real command (forked by tests/forkcli.py) on a real script and reads the
runs it left with RunView / `localrun show`, from the folder the command ran in.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys

import pytest

from localrun.sync import RunView, find_runs
from localrun.wandb_shim import PATH as SHIM_PATH
from localrun.wandb_shim import WANDB_VERSION

from .. import forkcli
from ..wandbrun import explain, launch, network_calls


def _only_run(root) -> tuple[dict, list[dict]]:
    """The one run under ``root``: ``localrun show --json``'s object for it, and its rows."""
    (path,) = find_runs(str(root))
    return RunView(path).to_json(), list(RunView(path).rows())


def test_a_script_that_imports_wandb_records_a_run_that_show_finds(tmp_path):
    proc = launch(
        tmp_path,
        """
        import importlib.metadata, wandb
        run = wandb.init(project="p", config={"lr": 0.1}, dir=".")
        for i in range(3):
            wandb.log({"loss": 1.0 / (i + 1)})
        wandb.finish()
        print(wandb.__version__, importlib.metadata.version("wandb"), wandb.__file__)
        """,
    )
    assert proc.returncode == 0, explain(proc)
    version, dist_version, where = proc.stdout.split()
    assert version == dist_version == WANDB_VERSION
    assert where.startswith(SHIM_PATH)
    # wandb's dir="." is not the runs root: the run is in ./runs, where show looks.
    shown = forkcli.run(["show", "--json"], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    (run,) = json.loads(shown.stdout)
    assert run["project"] == "p" and run["state"] == "finished"
    assert run["config"] == {"lr": 0.1} and run["rows"] == 3
    assert os.listdir(tmp_path / "runs") == [run["id"]]
    assert network_calls(tmp_path) == []


def test_dir_sets_the_runs_root_even_for_a_script_that_changes_folder(tmp_path):
    root = tmp_path / "elsewhere" / "myruns"
    proc = launch(
        tmp_path / "work",
        """
        import os, wandb
        os.makedirs("sub", exist_ok=True)
        os.chdir("sub")
        wandb.init(dir=".")
        wandb.log({"x": 1})
        """,
        run_args=["--dir", str(root)],
    )
    assert proc.returncode == 0, explain(proc)
    _, rows = _only_run(root)
    assert [r["x"] for r in rows] == [1]
    assert not os.path.exists(tmp_path / "work" / "runs")
    assert not os.path.exists(tmp_path / "work" / "sub" / "runs")


def test_wandb_run_config_and_summary_are_the_current_runs_when_used(tmp_path):
    proc = launch(
        tmp_path,
        """
        import wandb
        from wandb import *  # noqa: F403
        assert wandb.run is None
        first = wandb.init(config={"a": 1})
        assert wandb.run is first and wandb.config is first.config
        assert wandb.summary is first.summary
        wandb.log({"m": 2})
        assert wandb.summary["m"] == 2
        wandb.finish()
        assert wandb.run is None
        second = wandb.init()
        assert wandb.run is second and wandb.config is second.config
        wandb.config.update({"b": 2}, allow_val_change=True)
        second.finish()
        print("ok")
        """,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", explain(proc)


def test_the_names_integrations_import_from_wandb_exist(tmp_path):
    proc = launch(
        tmp_path,
        """
        import importlib.metadata, importlib.util, wandb, localrun
        from wandb.sdk.lib.config_util import ConfigError
        from wandb.sdk.lib import RunDisabled
        from wandb.wandb_run import Run
        from wandb.sdk.wandb_run import Run as SdkRun
        from wandb.errors import CommError, Error, UsageError
        assert Run is SdkRun is wandb.Run is localrun.Run
        assert issubclass(ConfigError, localrun.Error) and Error is localrun.Error
        assert wandb.require("service") is None and wandb.setup() is None
        assert wandb.login() is True
        assert wandb.sdk.init is not None and wandb.sdk.Settings is wandb.Settings
        assert not hasattr(wandb, "_attach") and not hasattr(wandb, "sweep")
        assert len(wandb.util.generate_id()) == 8
        run = wandb.init(settings=wandb.Settings(silent=True))
        assert isinstance(run, (Run, RunDisabled))
        run._label(code="transformers_trainer")
        assert run.url is None
        wandb.define_metric("step")
        run.define_metric("*", step_metric="step", step_sync=True)
        wandb.termwarn("shown once", repeat=False)
        wandb.termwarn("shown once", repeat=False)
        wandb.log({"step": 1, "loss": 0.5})
        wandb.teardown()
        assert wandb.run is None
        try:
            wandb.sweep({})
        except AttributeError as exc:
            print(exc)
        """,
    )
    assert proc.returncode == 0, explain(proc)
    assert "wandb.sweep does not exist under localrun" in proc.stdout
    assert "docs/wandb.md" in proc.stdout
    assert proc.stderr.count("shown once") == 1
    run, _ = _only_run(tmp_path / "runs")
    assert run["summary"]["loss"] == 0.5


def test_a_child_a_grandchild_and_a_spawned_dataloader_worker_import_the_stand_in(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    proc = launch(
        tmp_path,
        """
        import subprocess, sys
        import torch

        GRANDCHILD = "import wandb; print(wandb.__file__)"
        CHILD = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {GRANDCHILD!r}])"


        class Where(torch.utils.data.Dataset):
            def __len__(self):
                return 2

            def __getitem__(self, i):
                import wandb

                return wandb.__file__


        if __name__ == "__main__":
            subprocess.run([sys.executable, "-c", CHILD], check=True)
            # A spawned worker is a new interpreter (a forked one has the parent's modules).
            loader = torch.utils.data.DataLoader(
                Where(), batch_size=2, num_workers=1, multiprocessing_context="spawn"
            )
            print(next(iter(loader))[0])
        """,
    )
    assert proc.returncode == 0, explain(proc)
    lines = proc.stdout.split()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(SHIM_PATH), lines


@pytest.mark.slow
def test_torchrun_workers_import_the_stand_in_and_rank_zero_records(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip(f"no torchrun beside {sys.executable}")
    script = tmp_path / "script.py"
    proc = launch(
        tmp_path,
        """
        import os
        import torch.distributed as dist
        import wandb

        dist.init_process_group("gloo")
        rank = dist.get_rank()
        # A file per rank: two processes printing at once can interleave their lines.
        with open(f"rank{rank}.txt", "w") as f:
            f.write(wandb.__file__)
        if rank == 0:
            wandb.init(project="ddp", config={"world": dist.get_world_size()})
            wandb.log({"rank0": 1})
            wandb.finish()
        dist.barrier()
        dist.destroy_process_group()
        """,
        command=[torchrun, "--standalone", "--nproc-per-node", "2", str(script)],
        timeout=120,
        env={"OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, explain(proc)
    for rank in (0, 1):
        assert (tmp_path / f"rank{rank}.txt").read_text().startswith(SHIM_PATH)
    run, _ = _only_run(tmp_path / "runs")
    assert run["config"] == {"world": 2} and run["project"] == "ddp"


def test_the_commands_exit_status_is_passed_through(tmp_path):
    proc = launch(tmp_path, "import sys, wandb; wandb.init(); sys.exit(7)")
    assert proc.returncode == 7, explain(proc)
    proc = launch(tmp_path, "raise RuntimeError('boom')")
    assert proc.returncode == 1 and "RuntimeError: boom" in proc.stderr


def test_a_missing_command_is_a_usage_error(tmp_path):
    for args in (["run"], ["run", "--"], ["run", "--dir", str(tmp_path)]):
        proc = forkcli.run(args, cwd=tmp_path)
        assert proc.returncode == 2
        assert (
            "no command given" in proc.stderr and "localrun run -- python train.py" in proc.stderr
        )
        assert "Traceback" not in proc.stderr


def test_a_command_not_found_or_not_runnable_says_so_as_a_shell_would(tmp_path):
    proc = forkcli.run(["run", "--", "no-such-command-xyz", "--flag"], cwd=tmp_path)
    assert proc.returncode == 127
    assert "command not found: 'no-such-command-xyz' on PATH" in proc.stderr
    assert "Traceback" not in proc.stderr
    script = tmp_path / "train.sh"
    script.write_text("#!/no/such/interpreter\n")
    script.chmod(0o755)
    proc = forkcli.run(["run", "--", "./train.sh"], cwd=tmp_path)
    assert proc.returncode == 126, proc.stderr
    assert "cannot run './train.sh'" in proc.stderr and "Traceback" not in proc.stderr


def test_signals_reach_the_command_itself_once(tmp_path):
    """localrun run execs the command: SIGINT and SIGTERM sent to it are the command's."""
    script = tmp_path / "script.py"
    script.write_text(
        "import signal, sys, time, wandb\n"
        "got = []\n"
        "signal.signal(signal.SIGINT, lambda s, f: got.append(s))\n"
        "run = wandb.init()\n"
        "print('ready', flush=True)\n"
        "while not got:\n"
        "    time.sleep(0.01)\n"
        "time.sleep(0.3)\n"
        "wandb.log({'sigints': len(got)})\n"
        "print('waiting', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALRUN_DIR")}
    with subprocess.Popen(
        [sys.executable, "-m", "localrun.cli", "run", "--", sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout.readline().strip() == "ready"
            proc.send_signal(signal.SIGINT)
            assert proc.stdout.readline().strip() == "waiting"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == -signal.SIGTERM, err
    run, rows = _only_run(tmp_path / "runs")
    assert run["state"] == "preempted"
    assert [r["sigints"] for r in rows] == [1]


def test_nothing_is_installed_outside_the_command(tmp_path):
    launch(tmp_path, "import wandb")
    spec = importlib.util.find_spec("wandb")
    assert spec is None or not spec.origin.startswith(SHIM_PATH)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util as u; s = u.find_spec('wandb'); print(s and s.origin)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert SHIM_PATH not in out


def test_the_stand_ins_dist_info_is_named_for_its_version():
    assert os.listdir(SHIM_PATH).count(f"wandb-{WANDB_VERSION}.dist-info") == 1
    with open(os.path.join(SHIM_PATH, f"wandb-{WANDB_VERSION}.dist-info", "METADATA")) as f:
        meta = f.read()
    assert "Name: wandb\n" in meta and f"Version: {WANDB_VERSION}\n" in meta


def test_the_network_watch_of_these_tests_sees_a_call_leave_the_machine(tmp_path):
    """The check the integration tests rely on: a call to another host is seen, one to this
    machine is not (the audit event is raised by hand: nothing is sent)."""
    proc = launch(
        tmp_path,
        """
        import socket, sys
        sys.audit("socket.connect", None, ("203.0.113.9", 443))
        sys.audit("socket.connect", None, ("127.0.0.1", 8080))
        sys.audit("socket.getaddrinfo", "localhost", 80, 0, 0, 0)
        """,
    )
    assert proc.returncode == 0, explain(proc)
    (call,) = network_calls(tmp_path)
    assert call["event"] == "socket.connect" and "203.0.113.9" in call["address"]
