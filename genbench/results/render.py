"""A registered reporter's text over a results view, its options checked like a suite's."""

from __future__ import annotations

from genbench.api.errors import ConfigError
from genbench.api.registry import Registry
from genbench.results.model import ReportView


def reporter_text(registry: Registry, reporter: str, view: ReportView, **params) -> str:
    """What reporter `reporter` renders of `view`; ConfigError for an option it does not take or
    a value it does not accept."""
    spec = registry.get("reporter", reporter)
    unknown = set(params) - set(spec.params)
    if unknown:
        raise ConfigError(f"reporter {reporter!r} takes no {', '.join(sorted(unknown))} option; "
                          f"its options: {', '.join(spec.params) or 'none'}")
    resolved = {key: param.default for key, param in spec.params.items()}
    resolved.update({key: spec.params[key].check(value) for key, value in params.items()})
    return spec.factory(view, **resolved)
