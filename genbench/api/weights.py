"""Reading torch files users give (checkpoints, weights files, cached networks) safely.

Files from users are hostile: torch.load(weights_only=True) builds tensors, dicts, lists,
tuples, str, int, float, bool and None, and refuses anything that would run code when unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genbench.api.errors import DataError


def load_weights(path: str | Path, what: str, fix: str) -> Any:
    """What the torch file at `path` holds, read on the CPU with weights_only=True; a DataError
    naming `what` it is (e.g. "checkpoint"), the file, why it cannot be read (not a torch file,
    truncated, or a pickle that would run code) and the `fix`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{what} {path} cannot be read safely (torch.load with weights_only=True: {reason}); "
                        f"it was not loaded. {fix}") from None
