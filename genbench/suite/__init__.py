"""The suite: from a TOML file to the list of cells to run, every check before any work.

Reading the file as hostile input (file), `--set` overrides (overrides), validation into a frozen
SuiteConfig (config, with the per-cell limits), the executor options table it checks against
the registered executors (executor_options), the equal-budget
[search] (search), the plan of cells with their stable ids (plan), and the built-in suites
(the builtin/ folder, listed by catalog). Imports only the plugin API.
"""
