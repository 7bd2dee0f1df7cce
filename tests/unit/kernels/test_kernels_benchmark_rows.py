"""run_kernel_benchmarks (what `genbench kernels` calls) returns and writes Liger-schema rows."""

import csv

import pytest

from genbench.kernels import Backend, reference
from genbench.kernels.bench import FIELDS, format_table, run_kernel_benchmarks

EAGER = Backend("eager", reference.OPS)


def test_benchmark_rows_table_and_csv(tmp_path):
    path = tmp_path / "kernels.csv"
    plugin = Backend("plugin")  # no ops of its own: every op falls back to the reference
    rows = run_kernel_benchmarks([2048], [EAGER, plugin], ops=["gan_loss", "bias_act"], repeats=3,
                                 csv_path=path)
    assert all(tuple(row) == FIELDS for row in rows)
    metrics = {(r["kernel"], r["metric"]) for r in rows}
    assert {("memcpy", "time"), ("gan_loss", "time"), ("gan_loss", "memcpy_ratio"),
            ("gan_loss", "saved_for_backward"), ("bias_act", "bandwidth_pct")} <= metrics
    assert {r["provider"] for r in rows if r["kernel"] == "gan_loss"} == {"eager", "plugin"}
    for row in rows:
        assert row["p20"] <= row["median"] <= row["p80"]
    saved = next(r for r in rows if r["kernel"] == "gan_loss" and r["metric"] == "saved_for_backward")
    assert saved["median"] == 2048 * 4  # F.softplus keeps its input: one tensor of the input's size
    with open(path) as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    table = format_table(rows)
    assert "gan_loss" in table and "plugin" in table


def test_unknown_benchmark_ops_are_errors():
    with pytest.raises(ValueError, match="gan_loss"):
        run_kernel_benchmarks([1024], [EAGER], ops=["softmax"])
