"""Rendering results for people: the summary as text tables (table) and the self-contained HTML
report (data, plots, html and its Jinja2 template in templates/)."""
