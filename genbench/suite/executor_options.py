"""Executor options: a suite's [executor] table and `genbench run --executor-opt KEY=VALUE`.

An executor declares its options as parameters, like any component (ExecutorSpec.params, and
ExecutorSpec.check for rules between them, e.g. a cluster job's workers and cores); the core
knows none of them. The suite's table (also accepted under its earlier name, [cluster]) is
checked when the suite is loaded, before any work: every key must be an option of a registered
executor, and the table as a whole must suit at least one executor (values checked against
each such executor's parameters and rules). When a run starts, the chosen executor gets its
defaults, then the table (if the table suits it; a table written for another executor is set
aside with a notice), then the command line's options, which must all be its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genbench.api.errors import ConfigError, close_matches
from genbench.api.registry import Registry

TABLES = ("executor", "cluster")  # [cluster]: the table's name when only cluster executors took options


def executors_taking(registry: Registry, keys) -> list[str]:
    """The registered executors that take every one of `keys` as an option."""
    return [name for name in registry.names("executor")
            if set(keys) <= set(registry.get("executor", name).params)]


def suite_table(raw: Mapping[str, Any], registry: Registry, source: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The name a parsed suite file gives its executor table, and the table checked (check_table)."""
    given = [name for name in TABLES if name in raw]
    if len(given) > 1:
        raise ConfigError(f"{source}: {given[1]}: the suite has both [{given[0]}] and [{given[1]}] (two names of "
                          f"one table); fix: merge them into [{given[0]}]")
    if not given:
        return TABLES[0], ()
    if not isinstance(raw[given[0]], dict):
        raise ConfigError(f"{source}: {given[0]}: expected a table, got {type(raw[given[0]]).__name__}; fix: write "
                          f"[{given[0]}]")
    return given[0], check_table(raw[given[0]], given[0], registry, source)


def check_table(raw: Mapping[str, Any], where: str, registry: Registry, source: str) -> tuple[tuple[str, Any], ...]:
    """A suite's executor table, checked against every executor it suits; ConfigError naming
    `source` (the suite file), the key and the fix."""
    options = {key for name in registry.names("executor") for key in registry.get("executor", name).params}
    for key in raw:
        if key not in options:
            raise ConfigError(f"{source}: {where}.{key}: unknown key {key!r}.{close_matches(key, options)}; fix: use "
                              f"options of the executor you run with (`genbench list --kind executor --params`): "
                              f"{', '.join(sorted(options)) or 'no executor takes any'}")
    suited = executors_taking(registry, raw)
    if not suited:
        owners = "; ".join(f"{key}: {', '.join(executors_taking(registry, [key]))}" for key in sorted(raw))
        raise ConfigError(f"{source}: {where}: no executor takes all of {', '.join(sorted(raw))} ({owners}); "
                          f"fix: keep the options of the executor you run with")
    for name in suited:
        resolve(registry.get("executor", name), raw, source, where)
    return tuple(sorted(raw.items()))


def resolve(spec, given: Mapping[str, Any], source: str, where: str, sep: str = ".") -> dict[str, Any]:
    """The executor's parameters: its defaults updated with `given`, each value checked, then its
    rules between them (spec.check); ConfigError naming `source` and `where`, `where`.KEY for a key
    (`sep` joins them: "." in a suite file, " " for the command line's flag)."""
    params = {key: param.default for key, param in spec.params.items()}
    for key, value in given.items():
        if key not in spec.params:
            raise ConfigError(f"{source}: {where}{sep}{key}: executor {spec.name!r} takes no option {key!r}."
                              f"{close_matches(key, spec.params)} Its options: {', '.join(spec.params) or 'none'}; "
                              f"fix: drop it, or pick an executor that takes it")
        try:
            params[key] = spec.params[key].check(value)
        except ValueError as exc:
            raise ConfigError(f"{source}: {where}{sep}{key}: {exc}; fix: {spec.params[key].describe()}") from None
    problem = spec.check(**params) if spec.check is not None else None
    if problem:
        raise ConfigError(f"{source}: {where}: {problem}")
    return params


def executor_params(spec, suite_table: tuple[tuple[str, Any], ...], suite_where: str, suite_source: str,
                    flags: tuple[tuple[str, Any], ...]) -> tuple[dict[str, Any], str | None]:
    """The parameters the chosen executor gets: the suite's table if it suits the executor, then
    the command line's `flags` (KEY, VALUE); and a notice when the suite's table was set aside."""
    table = dict(suite_table)
    notice = None
    if table and not set(table) <= set(spec.params):
        notice = (f"note: the suite's [{suite_where}] table ({', '.join(sorted(table))}) is not for executor "
                  f"{spec.name!r}, which takes {', '.join(spec.params) or 'no options'}; it is set aside")
        table = {}
    params = resolve(spec, table, suite_source, suite_where)
    if flags:
        params = resolve(spec, {**table, **dict(flags)}, "genbench run", "--executor-opt", sep=" ")
    return params, notice
