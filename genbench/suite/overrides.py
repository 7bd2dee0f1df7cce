"""`--set KEY=VALUE` overrides: dotted keys into a suite file's parsed TOML, applied before
validation so an override is checked exactly like the file (an unknown key or a bad value is a
ConfigError naming the --set).

KEY walks tables by name (`train.steps`, `eval.every`, `suite.seeds`) and arrays of tables by
index (`matrix.1.train.steps` for the second [[matrix]] block); a missing table on the way is
created. VALUE is a TOML value (`500`, `2e-4`, `true`, `[0, 1, 2]`, `"cpu"`, `{ name = "fid" }`);
text that is not a TOML value is taken as a string, so `train.device=cpu` works unquoted.
"""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from genbench.api.errors import ConfigError
from genbench.suite.file import MAX_DEPTH, nesting


def parse(text: str) -> tuple[list[str | int], Any]:
    """'a.b.c=VALUE' -> (["a", "b", "c"], value); ConfigError for text without '=' or a key."""
    key, sep, value_text = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE; fix: e.g. --set train.steps=500")
    parts: list[str | int] = []
    for part in key.split("."):
        part = part.strip()
        if not part:
            raise ConfigError(f"--set {text!r}: the key {key!r} has an empty part; fix: write dotted keys "
                              "like train.steps or matrix.0.train.steps")
        parts.append(int(part) if part.isdigit() else part)
    return parts, value(value_text.strip())


def value(text: str) -> Any:
    """A TOML value, or the text itself when it is not one (a bare word: a string)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ConfigError(f"--set value {text[:40]!r}...: arrays or tables nested too deeply; fix: nest at most "
                          f"{MAX_DEPTH} levels") from None


def apply(raw: dict, settings: list[str] | tuple[str, ...]) -> dict:
    """A copy of the parsed suite `raw` with each `--set KEY=VALUE` of `settings` applied in order."""
    raw = copy.deepcopy(raw)
    for text in settings:
        keys, new = parse(text)
        if len(keys) + nesting(new) > MAX_DEPTH:
            raise ConfigError(f"--set {text[:60]!r}: nested more than {MAX_DEPTH} levels deep; fix: nest at most "
                              f"{MAX_DEPTH} levels (a suite needs 4)")
        node: Any = raw
        for depth, key in enumerate(keys[:-1]):
            node = _child(node, key, keys[:depth + 1], text)
        last = keys[-1]
        if isinstance(node, list):
            _index(node, last, keys, text)
            node[last] = new
        elif isinstance(node, dict):
            node[str(last)] = new
        else:
            raise ConfigError(f"--set {text!r}: {'.'.join(map(str, keys[:-1]))} is a value, not a table; "
                              "fix: set it whole, or name a key of a table")
    return raw


def _child(node: Any, key: str | int, path: list, text: str) -> Any:
    where = ".".join(map(str, path))
    if isinstance(node, list):
        _index(node, key, path, text)
        return node[key]
    if not isinstance(node, dict):
        raise ConfigError(f"--set {text!r}: {where.rsplit('.', 1)[0]} is a value, not a table; "
                          "fix: set it whole, or name a key of a table")
    key = str(key)
    if key not in node:
        node[key] = {}
    child = node[key]
    if isinstance(child, list) and not all(isinstance(item, dict) for item in child):
        raise ConfigError(f"--set {text!r}: {where} is an array of values, not of tables; fix: set it whole, "
                          f"e.g. --set {where}=[...]")
    return child


def _index(node: list, key: str | int, path: list, text: str) -> None:
    where = ".".join(map(str, path[:-1]))
    if not isinstance(key, int) or key >= len(node):
        raise ConfigError(f"--set {text!r}: {where} is an array of {len(node)} tables, {key!r} is not an index "
                          f"of it; fix: index it from 0 to {len(node) - 1}, e.g. {where}.0.KEY")
