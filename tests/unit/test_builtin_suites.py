"""The suites shipped in the package validate, and the GAN smoke suite runs end to end."""

import json
import math
import os

import pytest

from genbench.suite.config import builtin_suites, load
from genbench.suite.plan import expand


@pytest.mark.parametrize("name", sorted(builtin_suites()))
def test_builtin_suite_validates_and_plans(name, registry):
    cells = expand(load(name, registry), registry)
    assert cells and len({c.cell_id for c in cells}) == len(cells)


def test_gan_smoke_runs_every_objective_with_image_metrics(tmp_path, genbench_cli, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))  # the domain classifier trains here
    out = tmp_path / "out"
    ran = genbench_cli("run", "gan-smoke", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(genbench_cli("export", str(out), "--format", "json", "--raw").stdout)
    fid = [r for r in rows if r["metric"] == "fid"]
    objectives = {r["objective"] for r in fid}
    assert objectives == {"saturating", "nonsaturating", "lsgan", "hinge", "wgan-gp"}
    assert all(math.isfinite(r["value"]) and r["value"] > 0 for r in fid)
    provenance = json.loads(fid[0]["provenance"])
    assert provenance["extractor_hash"] and provenance["n_fake"] == 200 and provenance["split"] == "test"
    assert {r["objective"] for r in rows if r["metric"] == "modes"} == {"nonsaturating", "wgan-gp"}
    assert os.listdir(out / "artifacts")
