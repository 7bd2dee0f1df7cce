"""The suites shipped in the package validate and plan (the smoke suites run in
tests/e2e/test_builtin_suite_runs.py). Suites that read local files (sngan-cifar10: CIFAR-10's
python batches and the FID Inception-v3 weights) plan against the stand-ins of the
`local_files` fixture (tests/conftest.py)."""

import pytest

from genbench.suite.config import builtin_suites, load
from genbench.suite.plan import expand

@pytest.mark.parametrize("name", sorted(builtin_suites()))
def test_builtin_suite_validates_and_plans(name, registry, local_files):
    cells = expand(load(name, registry), registry)
    assert cells and len({c.cell_id for c in cells}) == len(cells)


def test_kurach_small_crosses_four_losses_with_four_d_normalizations(registry):
    cells = expand(load("kurach-small", registry), registry)
    assert len(cells) == 4 * 4 * 3
    grid = {(c.component("objective").name, c.component("model").kwargs()["d_norm"]) for c in cells}
    assert grid == {(loss, norm) for loss in ("nonsaturating", "hinge", "lsgan", "wgan-gp")
                    for norm in ("none", "batch", "layer", "spectral")}
    assert {c.component("model").name for c in cells} == {"sngan-cnn"}
    assert {c.component("model").kwargs()["width"] for c in cells} == {8}
    assert {c.component("objective").kwargs().get("k", 1) for c in cells} == {1}  # WGAN-GP too: n_disc = 1
    assert {c.component("dataset").name for c in cells} == {"mnist5k"}
    # one optimizer setting for every loss: the suite's, not WGAN-GP's own defaults (lr 1e-4, beta1 0)
    assert {(c.train_config()["lr"], c.component("optimizer").kwargs()["beta1"],
             c.component("optimizer").kwargs()["beta2"]) for c in cells} == {(2e-4, 0.5, 0.999)}
    assert {c.seed for c in cells} == {0, 1, 2}


def test_sngan_cifar10_follows_the_paper_protocol(registry, local_files):
    cells = expand(load("sngan-cifar10", registry), registry)
    assert len(cells) == 2 * 3
    assert {c.component("model").name for c in cells} == {"sngan-cnn", "resnet"}
    for cell in cells:
        train = dict(cell.train)
        assert train["steps"] == 100_000 and train["batch_size"] == 64 and train["lr"] == 2e-4
        assert cell.component("objective").name == "hinge" and cell.component("objective").kwargs()["k"] == 5
        optimizer = cell.component("optimizer")
        assert optimizer.name == "adam" and optimizer.kwargs()["beta1"] == 0.0 and optimizer.kwargs()["beta2"] == 0.9
        metrics = {m.name: m.kwargs() for m in cell.metrics}
        assert metrics["is"]["n_fake"] == 50_000 and metrics["is"]["splits"] == 10
        assert metrics["fid"]["n_fake"] == 10_000 and metrics["fid"]["n_real"] == 5_000
        assert {m["extractor"] for m in metrics.values()} == {"inception"}
        assert cell.component("dataset").kwargs()["path"] == "~/data/cifar10"


def test_sngan_cifar10_dry_run_here_and_without_the_data(local_files, tmp_path, invoke_genbench, monkeypatch):
    dry = invoke_genbench("run", "sngan-cifar10", "--out", str(tmp_path / "out"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "6 cells" in dry.stdout and "standard-cnn" in dry.stdout and "resnet" in dry.stdout
    assert not (tmp_path / "out").exists()

    elsewhere = tmp_path / "elsewhere"
    (local_files / "data" / "cifar10").rename(elsewhere)
    missing = invoke_genbench("run", "sngan-cifar10", "--dry-run")
    assert missing.returncode != 0
    assert "cifar10" in missing.stderr and "does not exist" in missing.stderr and "cifar-10-batches-py" in missing.stderr
    moved = invoke_genbench("run", "sngan-cifar10", "--dry-run", "--set",
                            f'matrix.0.datasets=[{{ name = "cifar10", path = "{elsewhere}" }}]')
    assert moved.returncode == 0 and "6 cells" in moved.stdout, moved.stderr


def test_both_gan_study_suites_are_listed_with_their_cells(local_files, invoke_genbench):
    listed = invoke_genbench("list", "--kind", "suite").stdout  # piped: a row a line, name then cells
    rows = {line.split()[0]: line.split() for line in listed.splitlines() if line.split()}
    assert rows["kurach-small"][1] == "48"
    assert rows["sngan-cifar10"][1] == "6"
