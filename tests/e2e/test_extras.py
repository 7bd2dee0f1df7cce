"""The core works without its optional extras: triton (genbench[triton]) and tensorboard."""

import subprocess
import sys


def test_list_and_a_run_work_without_triton(env_without, write_suite, tmp_path):
    env = {**env_without("triton"), "COLUMNS": "1000"}  # one line per component
    listed = subprocess.run([sys.executable, "-m", "genbench", "list", "--kind", "kernel"], capture_output=True,
                            text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    text = " ".join(listed.stdout.split())
    assert "eager" in text and "triton" in text and "the triton package is not installed" in text
    assert "genbench[triton]" in text
    ran = subprocess.run([sys.executable, "-c", "import sys; import torch, genbench.kernels.triton, genbench.cli; "
                          "print('triton' in sys.modules)"], capture_output=True, text=True, env=env)
    assert ran.returncode == 0 and ran.stdout.strip() == "False", ran.stderr
    dry = subprocess.run([sys.executable, "-m", "genbench", "run", str(write_suite()), "--dry-run",
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert dry.returncode == 0 and "2 cells" in dry.stdout, dry.stderr


def test_a_suite_naming_the_triton_backend_without_triton_is_refused(env_without, write_suite):
    suite = write_suite()
    suite.write_text(suite.read_text() + 'kernels = ["triton"]\n')
    ran = subprocess.run([sys.executable, "-m", "genbench", "run", str(suite), "--dry-run"], capture_output=True,
                         text=True, env=env_without("triton"))
    assert ran.returncode == 2 and "kernel backend 'triton' is not usable here" in ran.stderr
    assert "triton package is not installed" in " ".join(ran.stderr.split())


def test_log_tensorboard_without_the_package_says_how_to_install_it(write_suite, tmp_path, env_without):
    out = tmp_path / "out"
    ran = subprocess.run([sys.executable, "-m", "genbench", "run", str(write_suite()), "--out", str(out),
                          "--log", "tensorboard"], capture_output=True, text=True, env=env_without("tensorboard"))
    assert ran.returncode == 2 and "pip install 'genbench[tensorboard]'" in ran.stderr
    assert not out.exists()  # refused before any work
