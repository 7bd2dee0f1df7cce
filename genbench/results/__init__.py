"""The results: what a run stored, and what can be concluded from it.

The SQLite store and its migrations (store, migrations), per-group summaries over seeds
(summary), paired comparisons and equal-budget curves (compare), and one cell's stored view
(cell_view). Reads only the store and the plugin API.
"""
