"""The open core: no per-step host sync, axes as data (the optimizer axis), and a core that
names no built-in family or domain."""

import ast
from pathlib import Path


from genbench.suite.config import load
from genbench.suite.plan import expand
from genbench.run.runner import run_cell

CORE = Path(__file__).parents[2] / "genbench"


def one_cell(write_suite, registry, steps: int):
    suite = write_suite()
    text = suite.read_text().replace("steps = 20", f"steps = {steps}").replace("every = 10", f"every = {steps}")
    suite.write_text(text)
    return expand(load(str(suite), registry), registry)[0]


def test_no_host_sync_per_training_step(write_suite, registry, host_reads):
    """Through the runner, 60 steps read no more tensors back to the host than 20 (each run
    evaluates once, at its last step): statistics stay on the device between evals."""
    reads = {}
    for steps in (20, 60):
        cell = one_cell(write_suite, registry, steps)
        host_reads.clear()
        result = run_cell(cell, registry)
        assert result.status == "done", result.error
        reads[steps] = sorted(host_reads)
    assert reads[60] == reads[20]


def test_optimizer_axis_and_published_optimizer_settings(tmp_path, registry):
    path = tmp_path / "optimizers.toml"
    path.write_text("""
[train]
steps = 10
[[matrix]]
datasets = ["ring8"]
models = ["mlp"]
objectives = ["nonsaturating", "wgan-gp"]
optimizers = ["adam", "rmsprop"]
[[matrix]]
datasets = ["grid25"]
models = ["mlp"]
objectives = ["wgan-gp"]
optimizers = [{ name = "adam", beta1 = 0.3 }]
""")
    cells = expand(load(str(path), registry), registry)
    assert [c.path for c in cells] == ["ring8/mlp/nonsaturating/adam/eager/seed0",
                                       "ring8/mlp/nonsaturating/rmsprop/eager/seed0",
                                       "ring8/mlp/wgan-gp/adam/eager/seed0",
                                       "ring8/mlp/wgan-gp/rmsprop/eager/seed0",
                                       "grid25/mlp/wgan-gp/adam(beta1=0.3)/eager/seed0"]
    adam = [c.component("optimizer").kwargs() for c in cells if c.component("optimizer").name == "adam"]
    assert adam[0] == {"beta1": 0.5, "beta2": 0.999, "eps": 1e-8}  # Adam's defaults (DCGAN's)
    assert adam[1] == {"beta1": 0.0, "beta2": 0.9, "eps": 1e-8}  # WGAN-GP's published betas
    assert adam[2] == {"beta1": 0.3, "beta2": 0.9, "eps": 1e-8}  # the suite's beta1 wins
    assert cells[3].component("optimizer").kwargs() == {"alpha": 0.99, "momentum": 0.0, "eps": 1e-8}
    assert cells[2].train_config()["lr"] == 1e-4 and cells[0].train_config()["lr"] == 2e-4


def test_optimizers_train_differently(write_suite, registry):
    suite = write_suite()
    suite.write_text(suite.read_text() + 'optimizers = ["adam", "rmsprop"]\n')
    adam, rmsprop = expand(load(str(suite), registry), registry)[::2]
    loss = lambda r: [m.value for m in r.metrics if m.name == "loss_d"]
    assert loss(run_cell(adam, registry)) != loss(run_cell(rmsprop, registry))


def builtin_names(registry, kind):
    return {name for name in registry.names(kind) if registry.origin(kind, name).distribution == "genbench"}


def test_core_names_no_builtin_family_or_domain(registry):
    """Families and domains come from the registry: the core's code holds none of their names
    (docstrings may mention them)."""
    names = builtin_names(registry, "family") | builtin_names(registry, "domain")
    assert {"gan", "autoencoder", "points", "image"} <= names
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                words = set(node.value.replace(".", " ").replace("/", " ").split())
                assert not words & names, f"{path.name}:{node.lineno} names {words & names} in {node.value!r}"


def test_no_factory_takes_a_backend(registry):
    import inspect

    for kind in ("model", "objective"):
        for name in registry.names(kind):
            factory = registry.get(kind, name).factory
            assert "backend" not in inspect.signature(factory).parameters, f"{kind} {name} takes backend"
