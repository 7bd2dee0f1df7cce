"""The run: executing a planned suite and recording what each cell did.

A cell's lifecycle (runner), worker processes that fail alone (workers), the executor protocol
(executors), the CPU policy, signals, checkpoints, which cells still need running (resume), the
store's lock, progress bars, the code versions and environment a cell records, result loggers,
and rescoring finished cells (rescore). Reads the suite and writes the results store.
"""
