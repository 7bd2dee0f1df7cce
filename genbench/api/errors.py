"""The errors genbench raises: each names the thing that is wrong and how to fix it."""

from __future__ import annotations

import difflib


class GenbenchError(Exception):
    """Base class: a problem the user can fix; the CLI prints it without a traceback."""


class ConfigError(GenbenchError):
    """A suite file or command-line value that cannot be run as written."""


class PluginError(GenbenchError):
    """A plugin that failed to import or registered something malformed or duplicated."""


class UnknownComponentError(ConfigError):
    """A dataset, model, objective, metric, kernel or trainer name nobody registered."""


class DataError(GenbenchError):
    """A data set that is missing or malformed on disk."""


def close_matches(name: str, choices) -> str:
    """' Did you mean: a, b?' for names close to `name`, or '' when none is close."""
    matches = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
