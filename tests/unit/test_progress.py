"""Progress of long work when the output is not a terminal: `genbench run` piped prints a line per
finished cell (count, status, wall time, time left), in order of finishing; `genbench kernels` a
line per measured case and `genbench report` what it renders, on stderr."""

import io
import re

from rich.console import Console

from genbench.run.progress import SuiteProgress, estimate_left, format_seconds

LINE = re.compile(r"^ *(\d+)/(\d+) (done|diverged|failed) +(\d+\.\ds|\d+m\d\ds|\d+h\d\dm)  (ETA +\S+)? *  (\S+)$")


def test_piped_run_prints_a_line_per_finished_cell(write_suite, tmp_path, invoke_genbench):
    suite = write_suite(objectives='["nonsaturating", "wgan-gp"]')
    ran = invoke_genbench("run", str(suite), "--out", str(tmp_path / "out"), "--executor", "local",
                          "--set", "train.steps=4", "--set", "eval.every=4")
    assert ran.returncode == 0, ran.stderr
    lines = [m.groups() for m in map(LINE.match, ran.stdout.splitlines()) if m]
    assert [(count, total) for count, total, *_ in lines] == [("1", "4"), ("2", "4"), ("3", "4"), ("4", "4")]
    assert {status for _, _, status, *_ in lines} == {"done"}
    paths = [path for *_, path in lines]  # the local executor finishes them in the suite's order
    assert paths == ["ring8(n_train=512,n_test=64)/mlp(hidden=16,depth=1,z_dim=4)/nonsaturating/adam/eager/seed0",
                     "ring8(n_train=512,n_test=64)/mlp(hidden=16,depth=1,z_dim=4)/nonsaturating/adam/eager/seed1",
                     "ring8(n_train=512,n_test=64)/mlp(hidden=16,depth=1,z_dim=4)/wgan-gp/adam/eager/seed0",
                     "ring8(n_train=512,n_test=64)/mlp(hidden=16,depth=1,z_dim=4)/wgan-gp/adam/eager/seed1"]
    assert [eta is not None for *_, eta, _ in lines] == [True, True, True, False]  # none after the last
    assert "━" not in ran.stdout  # no bar drawn at the end

    again = invoke_genbench("run", str(suite), "--out", str(tmp_path / "out"), "--executor", "local",
                            "--set", "train.steps=4", "--set", "eval.every=4")
    assert again.returncode == 0 and not [m for m in map(LINE.match, again.stdout.splitlines()) if m]

    report = invoke_genbench("report", str(tmp_path / "out"))
    assert report.returncode == 0, report.stderr
    assert re.match(r"rendering the report of 4 cells, [\d,]+ values \(tiny\)\.\.\.$", report.stderr.strip())
    assert re.search(r"report\.html \(\d+\.\d MB\) in \d+\.\ds$", report.stdout.strip())


def test_kernels_prints_a_line_per_measured_case(invoke_genbench):
    ran = invoke_genbench("kernels", "--sizes", "1e3,2e3", "--ops", "gan_loss,bias_act", "--backends", "eager",
                          "--repeats", "2")
    assert ran.returncode == 0, ran.stderr
    cases = [line.split(":")[0] for line in ran.stderr.splitlines()]
    assert cases == ["1/4 gan_loss eager 1,000", "2/4 bias_act eager 1,000", "3/4 gan_loss eager 2,000",
                     "4/4 bias_act eager 2,000"]
    assert all(re.search(r": \d+\.\d{3} ms$", line) for line in ran.stderr.splitlines())
    assert "gan_loss" in ran.stdout  # the table, on stdout


def test_lines_count_skipped_cells_and_estimate_from_this_run(monkeypatch):
    clock = iter([100.0, 100.0, 110.0, 130.0])
    monkeypatch.setattr("genbench.run.progress.time.perf_counter", lambda: next(clock))
    out = io.StringIO()
    console = Console(file=out, width=80)
    with SuiteProgress(console, 4, {"a": "x/seed0", "b": "x/seed1", "c": "y/seed0", "d": "y/seed1"}) as progress:
        progress.skipped(1)
        progress.cell_finished("b", "done", 9.5)  # 10 s after the start: 2 cells left, 20 s
        progress.cell_finished("c", "diverged", 75.0)  # 30 s for 2: 1 left, 15 s
    assert out.getvalue().splitlines() == [
        "2/4 done        9.5s  ETA   20.0s  x/seed1",
        "3/4 diverged   1m15s  ETA   15.0s  y/seed0",
    ]


def test_durations_and_estimates():
    assert [format_seconds(s) for s in (0.04, 4.25, 59.9, 60.0, 185.0, 3599.0, 7620.0)] == [
        "0.0s", "4.2s", "59.9s", "1m00s", "3m05s", "59m59s", "2h07m"]
    assert estimate_left(10.0, 0, 3) is None
    assert estimate_left(10.0, 2, 3) == 15.0
