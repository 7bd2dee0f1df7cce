"""The README's plugin example works as printed."""

import re
import types
from pathlib import Path

from genbench.api.registry import Registry

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_readme_plugin_example_registers_a_working_dataset():
    [code] = [block for block in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "@hookimpl" in block]
    module = types.ModuleType("my_plugin")
    exec(compile(code, "README.md", "exec"), module.__dict__)
    registry = Registry()
    module.register_datasets(lambda spec: registry.add("dataset", spec, "my_plugin", "my-dist"))
    spec = registry.get("dataset", "moons")
    data = spec.factory(n=500, noise=0.05)
    assert data.train.shape == (500, 2) and spec.data_info({}).domain == "points"


def test_readme_names_the_commands_ci_runs():
    root = Path(__file__).parents[2]
    ci, makefile = (root / ".ci" / "run").read_text(), (root / "Makefile").read_text()
    assert "\nmake test-all" in ci and "\nmake run" in README and "\nmake test-all" in README
    assert "\nmake test " in README and "\ntest:" in makefile and "\ntest-all:" in makefile
    assert "pip install torch==2.13.0" in README and "TORCH_VERSION ?= 2.13.0" in makefile
    assert 'pip install -e ".[dev]"' in README and '-e ".[dev]"' in makefile
    assert "\npytest" in README and "-m pytest" in makefile


def test_readme_notebook_example_loads_filters_pivots_and_plots(tmp_path, monkeypatch):
    """The 'Results in a notebook' example, run on a store whose `modes` values are known."""
    import matplotlib

    matplotlib.use("Agg")
    from report_store import build_store, score

    from genbench.results.store import Store

    store = Store(build_store(tmp_path / "genbench-results"))  # objectives alpha and beta, seeds 0-2
    store.db.execute("UPDATE metrics SET name = 'modes' WHERE name = 'score'")
    store.close()
    [code] = [block for block in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "results.load" in block]
    assert len(code.strip().splitlines()) == 5
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    final = namespace["final"]
    assert list(final.columns) == ["alpha", "beta"] and list(final.index) == [0, 1, 2]
    assert final.loc[1, "beta"] == score(1, 1, 20)  # the last eval step's value
    assert namespace["frame"].name.isin(["modes", "samples_per_s", "grad"]).any()


# The README's "What is built in" lists, by their bold heading: the registry kind each lists.
BUILT_IN_LISTS = {"Families": "family", "Domains": "domain", "Reporters": "reporter", "Executors": "executor",
                  "Suites": "suite"}


def readme_list(heading: str) -> set[str]:
    """The names the README's **heading** list quotes as code (`name`): its text up to the next
    bold heading or list item."""
    section = README[README.index("## What is built in"):README.index("## Feature extractors")]
    text = re.split(r"\*\*|\n- ", section.split(f"**{heading}**", 1)[1], maxsplit=1)[0]
    return set(re.findall(r"`([a-z0-9][a-z0-9_.-]*)`", text))


def test_readme_lists_every_builtin_and_nothing_else(registry):
    """The built-in families, domains, reporters, executors and suites as the README lists them
    are the registry's and the suite folder's: adding or removing one fails here until the
    README says so."""
    from genbench.suite.config import builtin_suites

    for heading, kind in BUILT_IN_LISTS.items():
        if kind == "suite":
            builtin = set(builtin_suites())
        else:
            builtin = {n for n in registry.names(kind) if registry.origin(kind, n).distribution == "genbench"}
        listed = readme_list(heading)
        assert listed == builtin, (f"README's **{heading}** list: missing {sorted(builtin - listed)}, "
                                   f"not built in {sorted(listed - builtin)}")
