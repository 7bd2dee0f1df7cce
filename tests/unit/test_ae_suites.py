"""The shipped autoencoder suites validate (ae-smoke runs in tests/e2e/test_builtin_suite_runs.py)."""


from genbench.suite import config

from genbench.suite import plan


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
