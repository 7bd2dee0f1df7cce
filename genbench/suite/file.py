"""Reading a suite file as hostile input: small UTF-8 text, TOML, bounded nesting.

Anything else is a ConfigError naming the file and the fix, before a byte of it is trusted.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from genbench.api.errors import ConfigError

MAX_SUITE_BYTES = 1 << 20  # suite files are small text files
MAX_DEPTH = 16  # nesting of tables and arrays; a real suite needs 4


def parse(path: Path) -> dict:
    """The TOML document of a suite file: UTF-8 text, at most MAX_SUITE_BYTES, nested at most
    MAX_DEPTH deep; ConfigError otherwise."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_SUITE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); "
                          "fix: pass a readable .toml suite file.") from None
    if len(data) > MAX_SUITE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_SUITE_BYTES:,} bytes, not a suite file; "
                          "fix: pass a .toml suite file.")
    if b"\0" in data:
        raise ConfigError(f"{path}: a binary file (it holds NUL bytes), not a TOML suite; "
                          "fix: pass a .toml suite file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); fix: save the suite "
                          "as UTF-8 (TOML files are UTF-8).") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the syntax at that line.") from None
    except RecursionError:
        raise ConfigError(f"{path}: tables or arrays nested too deeply; fix: nest at most "
                          f"{MAX_DEPTH} levels.") from None
    if nesting(raw) > MAX_DEPTH:
        raise ConfigError(f"{path}: tables or arrays nested more than {MAX_DEPTH} levels deep; "
                          f"fix: nest at most {MAX_DEPTH} levels (a suite needs 4).")
    return raw


def nesting(value: Any) -> int:
    """How deeply tables and arrays nest in a parsed document (iteratively: no recursion)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in item)
    return deepest
