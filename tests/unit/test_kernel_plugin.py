"""A kernel backend from an installed plugin runs a suite cell end to end, with its ops counted
and the reference filling in the ops it lacks."""


from genbench.suite.config import load
from genbench.suite.plan import expand
from genbench.api.registry import load_plugins
from genbench.run.runner import run_cell

COUNTING_SUITE_LINE = 'objectives = ["nonsaturating"]\nkernels = ["counting"]\n'


def test_plugin_backend_runs_its_ops_and_falls_back_to_the_reference(install_plugin, write_suite):
    install_plugin("genbench_counting_kernels", dist="genbench-counting")
    registry = load_plugins()
    assert registry.origin("kernel", "counting").distribution == "genbench-counting"
    suite = write_suite()
    suite.write_text(suite.read_text().replace('objectives = ["nonsaturating"]\n', COUNTING_SUITE_LINE))
    cell = expand(load(str(suite), registry), registry)[0]
    import genbench_counting_kernels as plugin

    before = dict(plugin.CALLS)
    result = run_cell(cell, registry)
    assert result.status == "done", result.error
    assert plugin.CALLS["generator_loss"] - before["generator_loss"] == 20  # one G step per step
    assert plugin.CALLS["discriminator_loss"] - before["discriminator_loss"] == 20  # k = 1
    ops = result.env["kernel_ops"]
    assert ops["generator_loss"] == "counting" and ops["discriminator_loss"] == "counting"
    assert ops["bias_act"] == "reference"  # the MLP's layers: an op the plugin does not provide
