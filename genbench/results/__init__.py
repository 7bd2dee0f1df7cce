"""The results: what a run stored, and what can be concluded from it.

The SQLite store and its migrations (store, migrations); the results model, one tidy table read
from the store once, that every view reads (model: `load(directory)` gives it as a pandas
DataFrame, `read(directory)` as Results); the statistics over it (statistics: outcomes, mean ±
std, bootstrap intervals, the paired signed-rank test, Holm, best-of-k), per-group summaries
(summary), paired comparisons and equal-budget curves (compare), and one cell's view for `show
--cell` (cell_view). Rendering lives in the reporter plugins.
"""

from genbench.results.model import Results, ReportView, load, read

__all__ = ["Results", "ReportView", "load", "read"]
