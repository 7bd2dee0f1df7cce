"""The CLI in this process: --only and --dry-run, and the exit code and advice of a show without
results."""


def test_only_selects_cells_and_dry_run_writes_nothing(write_suite, tmp_path, invoke_genbench):
    suite, out = write_suite(objectives='["saturating", "nonsaturating"]'), tmp_path / "out"
    dry = invoke_genbench("run", str(suite), "--out", str(out), "--only", "nonsat", "--dry-run")
    assert dry.returncode == 0 and "2 cells" in dry.stdout and not out.exists()
    none = invoke_genbench("run", str(suite), "--out", str(out), "--only", "nothing-matches")
    assert none.returncode == 2 and "matches no cell" in none.stderr


def test_show_without_results_says_how_to_get_them(tmp_path, invoke_genbench):
    shown = invoke_genbench("show", str(tmp_path / "nothing"))
    assert shown.returncode == 2 and "genbench run" in shown.stderr
