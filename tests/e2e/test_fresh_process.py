"""What only a fresh interpreter shows: a cell's id does not depend on the process's hash seed,
and importing the kernel backends imports neither triton nor torch.compile's machinery."""

import subprocess
import sys

from genbench.suite.config import load
from genbench.suite.plan import expand


def test_cell_id_is_the_same_in_a_fresh_process(write_suite, registry):
    path = write_suite()
    ids = [c.cell_id for c in expand(load(str(path), registry), registry)]
    code = ("from genbench.api.registry import load_plugins; from genbench.suite.config import load; "
            "from genbench.suite.plan import expand; r = load_plugins(False); "
            f"print(' '.join(c.cell_id for c in expand(load({str(path)!r}, r), r)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert out.stdout.split() == ids


def test_importing_kernels_and_the_backends_neither_imports_triton_nor_compiles():
    code = ("import sys, genbench.kernels, genbench.kernels.functional, genbench.kernels.compiled, "
            "genbench.kernels.triton; "
            "assert 'triton' not in sys.modules, 'triton imported'; "
            "assert 'torch._dynamo' not in sys.modules, 'dynamo imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
