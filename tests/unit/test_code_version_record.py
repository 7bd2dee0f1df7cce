"""Which components' code a cell records, and how a change of code versions is described."""

from genbench.suite import config as config_module
from genbench.suite import plan
from genbench.run.code_version import cell_code_versions, code_changes, describe, used_components

def test_a_cell_records_every_component_kind_it_uses(registry, write_suite):
    cell = plan.expand(config_module.load(str(write_suite()), registry), registry)[0]
    kinds = {kind for kind, _ in used_components(cell, registry)}
    assert kinds == {"dataset", "model", "objective", "optimizer", "kernel", "metric", "family", "domain"}
    assert list(cell_code_versions(cell, registry)) == ["genbench"]  # every one is built in


def test_changes_name_each_distribution_that_differs():
    old = {"genbench": {"version": "0.1", "source": "a" * 64}, "p": {"version": "1.0", "source": None}}
    new = {"genbench": {"version": "0.1", "source": "b" * 64}, "q": {"version": "2.0", "source": None}}
    assert code_changes(old, new) == ["genbench 0.1 (source aaaaaaaa) -> 0.1 (source bbbbbbbb)",
                                      "p 1.0 -> (none)", "q (none) -> 2.0"]
    assert code_changes(old, old) == []
    assert describe({"version": None, "source": "c" * 64}) == "unversioned (source cccccccc)"
