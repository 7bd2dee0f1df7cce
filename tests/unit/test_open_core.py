"""The open core: no per-step host sync, axes as data (the optimizer axis), and a core that
names no built-in executor, reporter, kernel backend, family or domain."""

import ast
import re
from pathlib import Path


from genbench.suite.config import load
from genbench.suite.plan import expand
from genbench.run.runner import run_cell

CORE = Path(__file__).parents[2] / "genbench"


def one_cell(write_suite, registry, steps: int, log_every: int = -1):
    suite = write_suite()
    text = suite.read_text().replace("every = 10", f"every = {steps}")
    suite.write_text(text.replace("steps = 20", f"steps = {steps}\nlog_every = {log_every}"))
    return expand(load(str(suite), registry), registry)[0]


def runner_reads(write_suite, registry, host_reads, steps: int, log_every: int) -> list:
    cell = one_cell(write_suite, registry, steps, log_every)
    host_reads.clear()
    result = run_cell(cell, registry)
    assert result.status == "done", result.error
    return sorted(host_reads)


def test_no_host_sync_per_training_step(write_suite, registry, host_reads):
    """Through the runner, the host reads tensors once per record of the training statistics
    (every log_every steps) and at the eval step (each run evaluates once, at its last step),
    never per step: 60 steps read as much as 20 with as many records, and each record more adds
    the same reads."""
    reads = {(steps, records): runner_reads(write_suite, registry, host_reads, steps, steps // records)
             for steps in (20, 60) for records in (1, 2, 4)}
    for records in (1, 2, 4):
        assert reads[60, records] == reads[20, records]
    per_record = len(reads[20, 2]) - len(reads[20, 1])
    assert 0 < per_record <= 2 and len(reads[20, 4]) == len(reads[20, 1]) + 3 * per_record
    assert runner_reads(write_suite, registry, host_reads, 60, 0) == reads[20, 1]  # 0: at eval steps only


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


# The kinds whose built-in names the core must not hold: it finds them in the registry.
KEPT_OUT = ("executor", "reporter", "kernel", "family", "domain")
# Built-in names that are also ordinary words or file formats: the core may use the word ("a wide
# table", "this process", "data:image/png"), not the name: a string that is exactly the name (a
# default, a comparison, a lookup), a flag naming it (`--executor local`) or the name quoted as code
# (`local`) still fails.
ORDINARY_WORDS = {"table", "process", "local", "image", "points", "tabular", "compiled", "csv", "json", "html",
                  "comparison"}


def named_builtins(source: str, names: set[str]) -> list[tuple[int, set[str], str]]:
    """(line, names, string) for each string of `source` (docstrings aside) that names one of `names`."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
            hits = {text.strip()} & names
            quoted = re.findall(r"--[a-z-]+[ =]([A-Za-z0-9_]+)|`([A-Za-z0-9_]+)`", text)
            hits |= {flag or code for flag, code in quoted} & names
            hits |= set(re.findall(r"[A-Za-z0-9_]+", text)) & (names - ORDINARY_WORDS)
            if hits:
                found.append((node.lineno, hits, text))
    return found


def test_the_guard_finds_names_in_code_not_in_docstrings():
    names = {"process", "dask", "table"}
    source = '''"""Module docs may say dask and process."""
def f(x="process"):
    """So may a function's: --executor process."""
    return x == "dask-ish", f"use --executor {x}", "--format table", "a wide table", "scheduler dask"
y = "`process` isolates each cell in a worker process"
'''
    assert sorted((line, sorted(hits)) for line, hits, _ in named_builtins(source, names)) == [
        (2, ["process"]), (4, ["dask"]), (4, ["dask"]), (4, ["table"]), (5, ["process"])]


def test_core_names_no_builtin_plugin(registry):
    """Executors, reporters, kernel backends, families and domains come from the registry: the
    core's code holds none of their built-in names (docstrings may mention them)."""
    names = set().union(*(builtin_names(registry, kind) for kind in KEPT_OUT))
    assert {"gan", "autoencoder", "points", "image", "process", "local", "dask", "slurm", "table", "csv",
            "tensorboard", "eager", "compiled"} <= names
    problems = [f"{path.relative_to(CORE.parent)}:{line} names {sorted(hits)} in {text!r}"
                for path in sorted(CORE.rglob("*.py"))
                for line, hits, text in named_builtins(path.read_text(), names)]
    assert not problems, "\n".join(problems)


def test_no_factory_takes_a_backend(registry):
    import inspect

    for kind in ("model", "objective"):
        for name in registry.names(kind):
            factory = registry.get(kind, name).factory
            assert "backend" not in inspect.signature(factory).parameters, f"{kind} {name} takes backend"


ROOTS = {"genbench": CORE, "genbench.plugins": CORE.parent / "plugins", "genbench.kernels": CORE.parent / "kernels"}


def module_imports() -> dict[str, set[str]]:
    """Module -> the genbench modules it imports when it is imported (module level: an import
    inside a function is lazy), for the core, the kernels and the built-in plugins."""
    paths = {".".join([prefix, *[p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]]): path
             for prefix, folder in ROOTS.items() for path in folder.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        graph[module] = set()
        tree = ast.parse(path.read_text())
        lazy = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)}
        for node in ast.walk(tree):
            if id(node) in lazy or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], *[base] * bool(base)])
                names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for name in names:
                while name and name not in paths:
                    name = name.rpartition(".")[0]
                if name and name != module and not module.startswith(f"{name}."):  # a parent is imported first anyway
                    graph[module].add(name)
    return graph


def test_imports_have_no_cycle_and_no_arrow_back_up():
    """The core imports no plugin; models import their types from below, never from a family;
    and no module imports itself back through others."""
    graph = module_imports()
    core = {m for m in graph if not m.startswith(("genbench.plugins", "genbench.kernels"))}
    into_plugins = [(a, b) for a in core for b in graph[a] if b.startswith("genbench.plugins")]
    assert not into_plugins, f"the core imports plugins: {into_plugins}"
    back_up = [(a, b) for a in graph for b in graph[a]
               if a.startswith("genbench.plugins.models") and b.startswith("genbench.plugins.families")]
    assert not back_up, f"models import from families: {back_up}"
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join(path[path.index(module):] + (module,))}"
        if module not in done:
            for imported in graph[module]:
                visit(imported, (*path, module))
            done.add(module)

    for module in sorted(graph):
        visit(module, ())
