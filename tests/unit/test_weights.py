"""One safe loader for every torch file a user gives: checkpoints, weights files, cached networks."""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch import nn

from genbench import DataError, load_weights
from genbench.plugins.metrics import extractors


def test_a_file_that_would_run_code_is_refused_and_named(tmp_path):
    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path = tmp_path / "weights.pt"
    torch.save({"w": RunsCode()}, path)
    with pytest.raises(DataError, match=rf"weights file {path} cannot be read safely \(torch.load with "
                                        r"weights_only=True: .*\); it was not loaded\. Fix: get another"):
        load_weights(path, "weights file", "Fix: get another")
    assert not marker.exists()
    (tmp_path / "garbage.pt").write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="garbage.pt cannot be read safely"):
        load_weights(tmp_path / "garbage.pt", "weights file", "")
    torch.save({"w": torch.ones(2)}, path)
    assert torch.equal(load_weights(path, "weights file", "")["w"], torch.ones(2))


def test_a_damaged_cached_extractor_is_trained_again_not_trusted(tmp_path, caplog):
    net = nn.Linear(2, 2)
    path = tmp_path / "cnn-abc.pt"
    path.write_bytes(b"truncated by a full disk")
    path.with_suffix(".json").write_text(json.dumps({"weights": "0"}))
    assert extractors._read_cached(path, net) is None
    assert "cached extractor" in caplog.text and "cannot be read safely" in caplog.text
