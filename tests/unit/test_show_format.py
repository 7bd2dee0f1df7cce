"""`genbench show` as text that reads well anywhere: fitted to a terminal's width, one plain wide
table when piped, or Markdown; labels short, with the full parameters in a legend."""

from collections import Counter

import pytest

from genbench.plugins.reporters.text_table import render, summary_text
from genbench.results.summary import GroupSummary


def group(objective: str, dataset: str, fid: list[float], loss: list[float]) -> GroupSummary:
    summary = GroupSummary({"dataset": dataset, "model": "mlp(hidden=16,depth=1,z_dim=4)",
                            "objective": objective, "optimizer": "adam", "kernel": "eager"},
                           Counter(done=len(fid)))
    for value in fid:
        summary.add("fid", value)
    for value in loss:
        summary.add("loss_d", value)
    summary.train_stats["loss_d"] = {"source": "train", "label": "D loss", "column": True}
    return summary


SUMMARIES = [group(o, d, [10.0 + i, 12.0 + i], [0.5, 0.7]) for i, (o, d) in enumerate(
    [(o, d) for d in ("ring8(n_train=512,n_test=64)", "grid25") for o in ("saturating", "nonsaturating")])]


def test_labels_hold_only_the_axes_that_vary_with_long_ones_in_a_legend():
    text = summary_text(SUMMARIES, all_columns=False)
    assert text.headers[:2] == ["dataset / objective", "n"] and text.headers[-1] == "status"
    assert "D loss" in text.headers  # a training statistic by its display label
    assert [row[0] for row in text.rows] == ["ring8#1 / saturating", "ring8#1 / nonsaturating",
                                             "grid25 / saturating", "grid25 / nonsaturating"]
    assert text.common == ["model mlp#1", "optimizer adam", "kernel eager"]
    assert text.legend == ["mlp#1 = mlp(hidden=16,depth=1,z_dim=4)", "ring8#1 = ring8(n_train=512,n_test=64)"]
    assert text.rows[0][2] == "11±1.41"  # mean ± sample std over the seeds


def test_plain_is_one_table_whatever_the_width():
    out = render(summary_text(SUMMARIES, False), "s", "plain", width=40)
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("dataset / objective"))
    assert len(header) > 40  # not wrapped, not split into sub-tables
    assert sum(line.startswith("dataset / objective") for line in lines) == 1
    rows = [line.split() for line in lines if line.startswith(("ring8#1 /", "grid25 /"))]
    assert len(rows) == 4 and all(row[-2:] == ["2", "done"] for row in rows)
    assert "mlp#1 = mlp(hidden=16,depth=1,z_dim=4)" in lines and "│" not in out


def test_markdown_is_a_table_with_aligned_columns():
    out = render(summary_text(SUMMARIES, False), "s", "markdown", width=40)
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert table[0] == "| dataset / objective | n | fid | D loss | samples_per_s | status |"
    assert table[1] == "| :-- | --: | --: | --: | --: | :-- |"
    assert len(table) == 6 and all(line.count("|") == 7 for line in table)


@pytest.mark.parametrize("width", [60, 100, 200])
def test_terminal_tables_fit_the_width(width):
    out = render(summary_text(SUMMARIES * 1, True), "s", "terminal", width=width)
    assert max(len(line) for line in out.splitlines() if "━" in line or "│" in line) <= width
    assert out.count("ring8#1 / saturating") >= 1


def test_show_piped_prints_plain_and_markdown(write_suite, tmp_path, invoke_genbench):
    suite, out = write_suite(objectives='["saturating", "nonsaturating"]'), tmp_path / "out"
    assert invoke_genbench("run", str(suite), "--out", str(out), "--set", "train.steps=4", "--set", "eval.every=2",
                        "--set", "suite.seeds=[0]", "--executor", "local").returncode == 0
    piped = invoke_genbench("show", str(out), "--no-pictures").stdout  # stdout is a pipe: plain
    assert "every group: dataset ring8#1, model mlp#1, optimizer adam, kernel eager" in piped
    assert any(line.split()[:2] == ["saturating", "1"] for line in piped.splitlines())
    assert "ring8#1 = ring8(n_train=512,n_test=64)" in piped and "┃" not in piped
    markdown = invoke_genbench("show", str(out), "--format", "markdown").stdout
    assert "| objective | n | hq_pct | modes |" in markdown


@pytest.mark.parametrize("fmt", ["terminal", "plain", "markdown"])
def test_a_metric_with_fewer_values_than_finished_cells_says_so(fmt):
    """Three cells finished but one scored NaN (dropped): the mean is over 2, and the table says
    [n=2] beside it in every format (rich must not read it as markup)."""
    short = group("saturating", "grid25", [10.0, 12.0], [0.5, 0.7, 0.6])
    short.statuses["done"] = 3
    out = render(summary_text([short, group("hinge", "grid25", [9.0, 11.0, 10.0], [0.5, 0.7, 0.6])], False),
                 "s", fmt, width=120)
    assert "11±1.41 [n=2]" in out and "10±1 " in out


def test_show_prints_the_n_of_a_metric_that_lost_a_seed(tmp_path, invoke_genbench):
    """Through the CLI, piped (plain): beta's seed 2 has a NaN distance, so its mean is over 2
    and the NaN is counted; the failed and the diverged cell are counted as cells run, with
    their status, and their values are not averaged."""
    from report_store import build_store

    out = build_store(tmp_path / "results")
    shown = invoke_genbench("show", str(out), "--format", "plain")
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines()
            if line.startswith(("alpha", "beta", "broken", "wild"))}
    assert "[n=2, 1 NaN]" in " ".join(rows["beta"]) and rows["beta"][1] == "3"  # 3 run
    assert rows["broken"][1:3] == ["1", "-"] and rows["broken"][-2:] == ["1", "failed"]
    assert rows["wild"][1:3] == ["1", "-"] and rows["wild"][-2:] == ["1", "diverged"]
    assert "n = cells run" in shown.stdout
