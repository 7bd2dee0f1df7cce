"""Rendering results for people: the summary as text tables (table) and the self-contained HTML
report (data, plots, html and its Jinja2 template in templates/)."""


def __getattr__(name: str):
    """genbench.report.ReportView and the other summary names of plugin API 2.0 (the module
    genbench.results.summary now): deprecated aliases, see genbench.api.compat."""
    from genbench.api import compat

    return compat.moved_attribute(__name__, name)
