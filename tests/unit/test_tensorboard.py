"""`genbench run --log tensorboard` and `genbench export --format tensorboard`: one run per
cell, read back with TensorBoard's own EventAccumulator."""

import hashlib
import json
import shutil

import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def read_run(path):
    events = EventAccumulator(str(path), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    return events


def test_log_tensorboard_writes_one_run_per_cell(write_suite, tmp_path, invoke_genbench):
    suite, out = write_suite(), tmp_path / "out"
    ran = invoke_genbench("run", str(suite), "--out", str(out), "--set", "train.steps=6", "--set", "eval.every=3",
                       "--executor", "local", "--log", "tensorboard")
    assert ran.returncode == 0, ran.stderr
    runs = sorted(p.parent for p in (out / "tensorboard").rglob("events.out.tfevents.*"))
    assert [p.name for p in runs] == ["seed0", "seed1"]
    assert runs[0].relative_to(out / "tensorboard").parts[:2] == ("tiny", "ring8(n_train=512,n_test=64)")

    stored = json.loads(invoke_genbench("export", str(out), "--format", "json", "--raw").stdout)
    for run, seed in zip(runs, (0, 1), strict=True):
        events = read_run(run)
        tags = events.Tags()
        assert {"eval/modes", "eval/hq_pct", "train/loss_d", "train/g_grad_norm"} <= set(tags["scalars"])
        modes = [(e.step, e.value) for e in events.Scalars("eval/modes")]
        assert modes == [(r["step"], pytest.approx(r["value"])) for r in stored
                         if r["seed"] == seed and r["metric"] == "modes"]
        pictures = events.Images("samples")
        assert [p.step for p in pictures] == [3, 6] and pictures[0].width > 0 and pictures[0].height > 0
        assert {"config/text_summary", "status/text_summary"} <= set(tags["tensors"])


def test_export_rewrites_runs_from_the_store(write_suite, tmp_path, invoke_genbench):
    suite, out = write_suite(), tmp_path / "out"
    assert invoke_genbench("run", str(suite), "--out", str(out), "--set", "train.steps=4", "--set", "eval.every=2",
                        "--set", "suite.seeds=[0]", "--executor", "local").returncode == 0
    assert not (out / "tensorboard").exists()
    exported = invoke_genbench("export", str(out), "--format", "tensorboard")
    assert exported.returncode == 0, exported.stderr
    assert "wrote 1 TensorBoard runs" in exported.stdout
    [events_file] = (out / "tensorboard").rglob("events.out.tfevents.*")
    events = read_run(events_file.parent)
    assert [e.step for e in events.Scalars("eval/modes")] == [2, 4] and len(events.Images("samples")) == 2


def test_log_names_only_reporters_that_log(write_suite, tmp_path, invoke_genbench):
    ran = invoke_genbench("run", str(write_suite()), "--out", str(tmp_path / "out"), "--log", "csv")
    assert ran.returncode == 2 and "does not log results as they arrive" in ran.stderr and "tensorboard" in ran.stderr


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_log_folder_that_is_a_link_or_holds_foreign_files_is_refused(write_suite, tmp_path, invoke_genbench):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    assert invoke_genbench("run", str(write_suite()), "--out", str(out), "--set", "train.steps=2",
                           "--set", "eval.every=2", "--set", "suite.seeds=[0]", "--executor", "local").returncode == 0
    run = elsewhere / "tiny" / "ring8(n_train=512,n_test=64)" / "mlp" / "nonsaturating" / "adam" / "eager" / "seed0"
    run.mkdir(parents=True)
    precious = run / "notes.txt"  # where a run's folder would be emptied before it is written again
    precious.write_text("the user's own notes\n")
    before = digest(precious)
    (out / "tensorboard").symlink_to(elsewhere)
    for args in (("export", str(out), "--format", "tensorboard"),
                 ("run", str(write_suite()), "--out", str(out), "--executor", "local", "--log", "tensorboard",
                  "--set", "train.steps=2", "--set", "eval.every=2", "--set", "suite.seeds=[0]")):
        refused = invoke_genbench(*args)
        assert refused.returncode == 2 and "symbolic link" in refused.stderr, refused.stderr
    (out / "tensorboard").unlink()
    shutil.copytree(elsewhere, out / "tensorboard")  # a foreign file inside a real log folder
    refused = invoke_genbench("export", str(out), "--format", "tensorboard")
    assert refused.returncode == 2 and "notes.txt" in refused.stderr, refused.stderr
    assert digest(precious) == before == digest(out / "tensorboard" / run.relative_to(elsewhere) / "notes.txt")
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_a_run_written_again_replaces_only_its_event_files(write_suite, tmp_path, invoke_genbench):
    out = tmp_path / "out"
    assert invoke_genbench("run", str(write_suite()), "--out", str(out), "--set", "train.steps=2",
                           "--set", "eval.every=2", "--set", "suite.seeds=[0]", "--executor", "local").returncode == 0
    for _ in range(2):
        assert invoke_genbench("export", str(out), "--format", "tensorboard").returncode == 0
    assert len(list((out / "tensorboard").rglob("events.out.tfevents.*"))) == 1
