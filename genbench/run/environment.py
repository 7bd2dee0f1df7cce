"""What a cell ran on: versions (genbench's and its plugin API's), machine, device, the machine's
load, and the process's peak memory."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import psutil
import torch

from genbench import PLUGIN_API, __version__


@lru_cache(maxsize=1)
def _static_environment() -> dict:
    return {
        "genbench": __version__,
        "plugin_api": PLUGIN_API,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "git_sha": _git_sha(),
    }


def _git_sha() -> str | None:
    """The commit of the genbench source tree, when genbench runs from a git checkout."""
    source_root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel", "HEAD"], cwd=source_root,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != source_root:
        return None  # not a checkout of genbench itself (e.g. a venv inside another repo)
    return lines[1]


def environment(device: torch.device) -> dict:
    env = dict(_static_environment())
    env["torch_threads"] = torch.get_num_threads()
    env["device"] = str(device)
    env["load_start"] = load_average()
    if device.type == "cuda":
        env["cuda_device"] = torch.cuda.get_device_name(device)
    return env


def load_average() -> float:
    """The machine's 1-minute load average (runnable processes, averaged)."""
    return psutil.getloadavg()[0]


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on CPU): clocks read after it are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
