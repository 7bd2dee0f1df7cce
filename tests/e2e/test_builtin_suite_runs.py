"""The smoke suites shipped in the package run end to end through the CLI, with their workers:
ae-smoke, gan-smoke (image metrics) and rbm-smoke."""

import json
import math
import os


def test_ae_smoke_runs_end_to_end(tmp_path, invoke_genbench):
    out = tmp_path / "out"
    ran = invoke_genbench("run", "ae-smoke", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "suite ae-smoke: 8 cells" in ran.stdout

    raw = json.loads(invoke_genbench("export", str(out), "--format", "json", "--raw").stdout)
    assert all(r["status"] == "done" for r in raw)
    by_cell: dict[tuple, dict] = {}
    for r in raw:
        if r["step"] == 20:
            by_cell.setdefault((r["model"], r["objective"]), {})[r["metric"]] = r["value"]
    assert len(by_cell) == 8
    for (model, objective), values in by_cell.items():
        for name in ("loss", "recon", "recon_psnr", "recon_ssim", "denoise_psnr", "inpaint_psnr", "sr_psnr",
                     "acc_pretrained@5", "acc_scratch@5", "gap@5", "gap_equal_steps@5"):
            assert values[name] is not None and math.isfinite(values[name]), (model, objective, name)
        variational = objective == "vae"
        assert (values["iwae_nll"] is not None) == variational  # NaN (exported as null) for plain autoencoders
        assert ("kl" in values) == variational
    assert "sparsity" in by_cell[("ae-linear(code_dim=8)", "sparse")]
    assert "contraction" in by_cell[("ae-linear(code_dim=8)", "contractive")]

    shown = invoke_genbench("show", str(out), "--all")  # every picture, one line each
    assert shown.returncode == 0 and "recon_psnr" in shown.stdout
    pictures = [line for line in shown.stdout.splitlines() if "samples_step0000020.png" in line]
    assert len(pictures) == 2 and all("/vae/" in line for line in pictures)  # only VAEs sample


def test_gan_smoke_runs_every_objective_with_image_metrics(tmp_path, invoke_genbench, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))  # the domain classifier trains here
    out = tmp_path / "out"
    ran = invoke_genbench("run", "gan-smoke", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(invoke_genbench("export", str(out), "--format", "json", "--raw").stdout)
    fid = [r for r in rows if r["metric"] == "fid"]
    objectives = {r["objective"] for r in fid}
    assert objectives == {"saturating", "nonsaturating", "lsgan", "hinge", "wgan-gp"}
    assert all(math.isfinite(r["value"]) and r["value"] > 0 for r in fid)
    provenance = json.loads(fid[0]["provenance"])
    assert provenance["extractor_hash"] and provenance["n_fake"] == 200 and provenance["split"] == "test"
    assert {r["objective"] for r in rows if r["metric"] == "modes"} == {"nonsaturating", "wgan-gp"}
    assert os.listdir(out / "artifacts")


def test_rbm_smoke_runs_end_to_end(tmp_path, invoke_genbench, monkeypatch):
    monkeypatch.setenv("GENBENCH_CACHE", str(tmp_path / "cache"))  # FID's domain classifier trains here
    out = tmp_path / "out"
    ran = invoke_genbench("run", "rbm-smoke", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "suite rbm-smoke: 6 cells" in ran.stdout
    raw = json.loads(invoke_genbench("export", str(out), "--format", "json", "--raw").stdout)
    assert {r["status"] for r in raw} == {"done"}
    final: dict[tuple, dict] = {}
    for r in raw:
        if r["step"] == 20:
            final.setdefault((r["dataset"], r["objective"]), {})[r["metric"]] = r
    assert len(final) == 6
    for cell, rows in final.items():
        for name in ("fe_diff", "recon", "fe_gap", "pseudo_ll", "rbm_loglik", "rbm_loglik_ais", "rbm_log_z", "fid"):
            assert math.isfinite(rows[name]["value"]), (cell, name)
        provenance = json.loads(rows["rbm_loglik"]["provenance"])
        assert provenance["method"] == "exact" and provenance["log_z_low_ais"] <= provenance["log_z_high_ais"]
        assert abs(rows["rbm_loglik_ais"]["value"] - rows["rbm_loglik"]["value"]) < 0.2
        assert -64 * math.log(2) < rows["rbm_loglik"]["value"] < 0  # better than uniform bits, a probability
    shown = invoke_genbench("show", str(out))
    assert shown.returncode == 0 and "rbm_loglik" in shown.stdout
    assert len(list(out.glob("artifacts/*/samples_step0000020.png"))) == 6
