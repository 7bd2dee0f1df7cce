"""The CLI as a user drives it, with worker processes: run, show, export, and exit codes."""

import csv
import io
import json


def test_run_show_export(write_suite, tmp_path, invoke_genbench):
    suite, out = write_suite(objectives='["saturating", "nonsaturating"]'), tmp_path / "out"
    ran = invoke_genbench("run", str(suite), "--out", str(out), "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    assert "suite tiny: 4 cells" in ran.stdout
    for header in ("modes", "hq_pct", "reverse_kl", "|grad G|", "D(G(z))", "samples_per_s"):
        assert header in ran.stdout
    assert "2 done" in ran.stdout

    shown = invoke_genbench("show", str(out))
    assert shown.returncode == 0 and "saturating" in shown.stdout and "mean±std" in shown.stdout
    # one sentence naming the folder (wrapped at word boundaries: the test's path is long)
    assert f"sample pictures of 4 cells: {out / 'artifacts'} (each cell's latest: genbench show {out} --all)" \
        in " ".join(shown.stdout.split()) and "samples_step0000020.png" not in shown.stdout
    every = invoke_genbench("show", str(out), "--all")
    assert "sample pictures (latest step" in every.stdout and every.stdout.count("samples_step0000020.png") == 4

    exported = invoke_genbench("export", str(out), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    modes = [r for r in rows if r["metric"] == "modes"]
    assert {r["objective"] for r in modes} == {"saturating", "nonsaturating"}
    assert all(r["n"] == "2" for r in modes)

    raw = json.loads(invoke_genbench("export", str(out), "--format", "json", "--raw").stdout)
    assert len({r["cell_id"] for r in raw}) == 4
    scores = [r for r in raw if json.loads(r["provenance"]).get("source") != "train"]
    assert {r["step"] for r in scores} == {10, 20}  # the training statistics: every step (log_every)
    assert {r["step"] for r in raw} == set(range(1, 21))
    assert json.loads(next(r for r in raw if r["metric"] == "modes")["provenance"])["n_fake"] == 200


def test_workers_run_cells_in_a_process_pool(write_suite, tmp_path, invoke_genbench):
    suite, out = write_suite(), tmp_path / "out"
    ran = invoke_genbench("run", str(suite), "--out", str(out), "--workers", "2")
    assert ran.returncode == 0, ran.stderr
    assert "2 done" in ran.stdout


def test_failed_cells_exit_1(write_suite, tmp_path, invoke_genbench, install_plugin):
    site = install_plugin("genbench_sample_plugin", dist="genbench-sample")
    suite = write_suite()
    suite.write_text(suite.read_text().replace('datasets = [{ name = "ring8", n_train = 512, n_test = 64 }]',
                                               'datasets = ["broken-data"]'))
    ran = invoke_genbench("run", str(suite), "--out", str(tmp_path / "out"), pythonpath=site)
    assert ran.returncode == 1
    assert "failed:" in ran.stderr and "this dataset always fails to load" in ran.stderr
