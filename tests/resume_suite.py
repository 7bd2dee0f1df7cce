"""The suite the checkpoint tests resume (tests/unit/test_checkpoints.py in one process,
tests/e2e/test_checkpoint_resume.py across killed processes)."""

# A GAN cell and an autoencoder cell, 30 steps each, checkpointed at steps 10, 20 and 30; their
# training statistics recorded every 4 steps and at each eval step (records across checkpoints).
# The `kill-switch` metric (tests/plugins) kills the process at a step the test chooses.
RESUME_SUITE = """
[suite]
name = "resume"
seeds = [0]
[train]
steps = 30
batch_size = 32
log_every = 4
[eval]
every = 10
metrics = [{ name = "modes", n_samples = 200 }, { name = "reconstruction", n = 50 }, "kill-switch"]
[[matrix]]
datasets = [{ name = "ring8", n_train = 512, n_test = 64 }]
models = [{ name = "mlp", hidden = 16, depth = 1, z_dim = 4 }]
objectives = ["nonsaturating"]
[[matrix]]
datasets = [{ name = "digits", n_train = 256 }]
models = [{ name = "ae-deep", hidden = [32], code_dim = 4, variational = true }]
objectives = ["vae"]
"""
