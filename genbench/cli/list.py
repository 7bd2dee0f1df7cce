"""`genbench list`: every registered component, then the built-in suites (genbench.api.layout
lays both out: whole names, descriptions wrapped at word boundaries, plain columns piped)."""

from __future__ import annotations

import click

from genbench.api.layout import Column, Layout
from genbench.api.registry import load_plugins
from genbench.api.specs import KINDS
from genbench.cli.console import console, errors, print_text
from genbench.suite.catalog import builtin_suite_infos

KIND_NAMES = tuple(kind.name for kind in KINDS)
COMPONENT_COLUMNS = [Column("kind"), Column("name"), Column("description", prose=True), Column("plugin"),
                     Column("qualified name")]
SUITE_COLUMNS = [Column("name"), Column("cells", right=True), Column("expected"), Column("description", prose=True)]


@click.command("list")
@click.option("--kind", type=click.Choice((*KIND_NAMES, "suite")), help="Only this kind of component "
              "(suite: the built-in suites, with their descriptions, durations and cell counts).")
@click.option("--params", is_flag=True, help="Show each component's parameters.")
def command(kind: str | None, params: bool) -> None:
    """Show every registered component: datasets, models, objectives (with their own training
    defaults), optimizers, metrics, kernel backends, families, domains, reporters and executors;
    then the built-in suites."""
    registry = load_plugins()
    layout = Layout.of(console)
    rows = [[k, name, description(registry, k, name, params), registry.origin(k, name).plugin,
             registry.origin(k, name).qualified]
            for k in (KIND_NAMES if kind is None else (kind,) if kind != "suite" else ())
            for name in registry.names(k)]
    text = layout.table(COMPONENT_COLUMNS, rows, "genbench components") if rows else ""
    if kind in (None, "suite"):
        suites = [[info.name, f"{info.cells}" if info.cells is not None else "-", info.expected or "-",
                   info.description if info.cells is not None
                   else f"{info.description} (cannot be planned here: {info.problem})".lstrip()]
                  for info in builtin_suite_infos(registry)]
        text += ("\n" if text else "") + layout.table(SUITE_COLUMNS, suites, "built-in suites (genbench run NAME)")
    print_text(text)
    for problem in registry.problems:
        errors.print(f"[bold yellow]plugin problem:[/] {problem}", markup=False, highlight=False)
    for note in registry.ambiguities():
        errors.print(f"note: {note}", markup=False, highlight=False)


def description(registry, kind: str, name: str, params: bool) -> str:
    """A component's description; its availability, training defaults, optimizer roles and
    parameters on lines of their own."""
    origin = registry.origin(kind, name)
    lines = [origin.spec.description]
    if kind == "kernel":
        reason = origin.spec.available()
        lines[0] += "" if reason is None else f" (unavailable: {reason})"
    if kind == "objective" and origin.spec.train_defaults:
        defaults = ", ".join(f"{key}={value}" for key, value in origin.spec.train_defaults.items())
        lines.append(f"trains with {defaults} (unless the suite sets them)")
    if kind == "family" and origin.spec.optimizer_roles:
        roles = origin.spec.optimizer_roles
        lines.append(f"optimizer roles {', '.join(roles)}: an optimizer entry's {roles[0]} = {{ lr = ..., "
                     "<its parameters> }} gives that network its own settings")
    if params and origin.spec.params:
        lines += [f"{p}: {v.describe()}" for p, v in origin.spec.params.items()]
    if origin.problem is not None:
        lines[0] += " (refused: see below)"
    return "\n".join(lines)
