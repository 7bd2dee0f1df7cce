"""A metric that kills its own process, to interrupt a run for real at a chosen eval step.

`kill-switch` reports alive = 1 (a metric must report something). When GENBENCH_KILL_AT names the current eval step and the folder
GENBENCH_KILL_DIR has no marker for this cell's model type and seed yet, it writes the marker and
sends itself SIGKILL: the driver (local executor) dies mid-cell, as with `kill -9`, after the
checkpoints of the earlier eval steps were written. Each (model type, seed) is killed once, so a
resumed run goes past the same step. Without the variables it does nothing.
"""

import os
import signal
from pathlib import Path

from genbench import MetricOutput, MetricResult, MetricSpec, hookimpl


def kill_switch():
    def score(ctx) -> MetricResult:
        at, folder = os.environ.get("GENBENCH_KILL_AT"), os.environ.get("GENBENCH_KILL_DIR")
        if at is not None and folder is not None and ctx.step == int(at):
            marker = Path(folder) / f"{type(ctx.model).__name__}-seed{ctx.seed}"
            if not marker.exists():
                marker.write_text(str(ctx.step))
                os.kill(os.getpid(), signal.SIGKILL)
        return MetricResult({"alive": 1.0})

    return score


@hookimpl
def register_metrics(register):
    register(MetricSpec("kill-switch", "kills its own process once per model type and seed at "
                        "$GENBENCH_KILL_AT (tests)", kill_switch,
                        outputs={"alive": MetricOutput(True, "alive")}, needs=()))
