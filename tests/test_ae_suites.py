"""The shipped autoencoder suites: ae-smoke runs end to end through the CLI; the others validate."""

import json
import math

from genbench import config, plan


def test_ae_smoke_runs_end_to_end(tmp_path, genbench_cli):
    out = tmp_path / "out"
    ran = genbench_cli("run", "ae-smoke", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert "suite ae-smoke: 8 cells" in ran.stdout

    raw = json.loads(genbench_cli("export", str(out), "--format", "json", "--raw").stdout)
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

    shown = genbench_cli("show", str(out))
    assert shown.returncode == 0 and "recon_psnr" in shown.stdout
    pictures = [line for line in shown.stdout.splitlines() if "samples_step0000020.png" in line]
    assert len(pictures) == 2 and all("/vae/" in line for line in pictures)  # only VAEs sample


def test_shipped_autoencoder_suites_validate(registry):
    variants = plan.expand(config.load("ae-variants", registry), registry)
    assert {c.component("dataset").name for c in variants} == {"digits", "mnist5k", "patches32"}
    assert {c.component("objective").name for c in variants} == {"mse", "bce", "denoising", "sparse", "contractive", "vae"}
    assert {c.component("model").name for c in variants} == {"ae-linear", "ae-deep", "ae-conv"}
    assert {c.seed for c in variants} == {0, 1, 2}
    study = plan.expand(config.load("pretraining", registry), registry)
    assert {c.component("dataset").name for c in study} == {"mnist5k"}
    labels = {dict(m.params)["labels_per_class"] for m in study[0].metrics}
    assert len(study) == len({c.seed for c in study}) and {10, 100, 0} <= labels
