"""Which cells a run computes: every cell without a result in the store, and every finished one
whose recorded code versions (genbench.run.code_version) differ from the current ones, unless the
user keeps those (`--reuse-stale`). Code versions are per component (genbench.run.code_version):
an edit to one plugin module re-runs the cells whose components run that module, and no other.

A finished cell that recorded no code versions (stored by a genbench from before they were
recorded, e.g. in a migrated store) is kept, with a notice: its code is unknown, not known to
differ, and re-running every such cell would throw a migrated store's results away unasked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from genbench.run.code_version import CodeReader, CodeVersions, code_changes
from genbench.suite.plan import Cell
from genbench.results.store import Store

SKIP_STATUSES = ("done", "diverged")  # results; `running` (interrupted) and `failed` re-run


@dataclass
class Pending:
    """The cells to run, in suite order, and what was decided about the finished ones."""

    run: list[Cell]
    stale: dict[str, list[str]] = field(default_factory=dict)  # cell_id -> its code changes
    reuse_stale: bool = False  # the stale cells were kept, not re-run
    unrecorded: int = 0  # finished cells with no recorded code versions, kept

    def notices(self) -> list[str]:
        """What the run says about the finished cells it re-runs or keeps."""
        lines = []
        if self.stale:
            changes = ", ".join(dict.fromkeys(c for cell in self.stale.values() for c in cell))
            if self.reuse_stale:
                lines.append(f"kept {len(self.stale)} cells computed with older code (--reuse-stale): {changes}")
            else:
                lines.append(f"re-running {len(self.stale)} cells whose plugin code changed: {changes} "
                             f"(--reuse-stale keeps them)")
        if self.unrecorded:
            lines.append(f"kept {self.unrecorded} finished cells that recorded no code versions (stored by "
                         f"an older genbench); to recompute them, run into a new --out directory")
        return lines


def pending_cells(cells: list[Cell], store: Store, code: Mapping[str, CodeVersions] | None = None,
                  reuse_stale: bool = False) -> Pending:
    """The cells of `cells` to run: those not done or diverged in the store, and (given the
    current code versions by cell_id) finished ones whose code changed, unless `reuse_stale`."""
    statuses = store.statuses()
    recorded = store.code_versions() if code is not None else {}
    pending = Pending([], reuse_stale=reuse_stale)
    reader = CodeReader()  # an older genbench's whole-package hashes are compared with this run's
    for cell in cells:
        if statuses.get(cell.cell_id) not in SKIP_STATUSES:
            pending.run.append(cell)
            continue
        if code is None:
            continue
        before = recorded.get(cell.cell_id)
        if before is None:
            pending.unrecorded += 1
            continue
        changes = code_changes(before, code[cell.cell_id], reader)
        if changes:
            pending.stale[cell.cell_id] = changes
            if not reuse_stale:
                pending.run.append(cell)
    return pending
