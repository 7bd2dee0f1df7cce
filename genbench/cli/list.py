"""`genbench list`: every registered component, then the built-in suites."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from genbench.api.registry import load_plugins
from genbench.api.specs import KINDS
from genbench.cli.console import console, errors
from genbench.suite.catalog import builtin_suite_infos

KIND_NAMES = tuple(kind.name for kind in KINDS)


@click.command("list")
@click.option("--kind", type=click.Choice((*KIND_NAMES, "suite")), help="Only this kind of component "
              "(suite: the built-in suites, with their descriptions and cell counts).")
@click.option("--params", is_flag=True, help="Show each component's parameters.")
def command(kind: str | None, params: bool) -> None:
    """Show every registered component: datasets, models, objectives (with their own training
    defaults), optimizers, metrics, kernel backends, families, domains, reporters and executors;
    then the built-in suites."""
    registry = load_plugins()
    table = Table(title="genbench components")
    for header in ("kind", "name", "description", "plugin", "qualified name"):
        table.add_column(header, overflow="fold")
    for k in KIND_NAMES if kind is None else (kind,) if kind != "suite" else ():
        for name in registry.names(k):
            origin = registry.origin(k, name)
            description = escape(origin.spec.description)
            if k == "kernel":
                reason = origin.spec.available()
                description += "" if reason is None else f" [dim](unavailable: {escape(reason)})[/]"
            if k == "objective" and origin.spec.train_defaults:
                defaults = ", ".join(f"{key}={value}" for key, value in origin.spec.train_defaults.items())
                description += f"\n  [green]trains with[/] {escape(defaults)} (unless the suite sets them)"
            if k == "family" and origin.spec.optimizer_roles:
                roles = ", ".join(origin.spec.optimizer_roles)
                description += (f"\n  [green]optimizer roles[/] {escape(roles)}: an optimizer entry's "
                                f"{escape(origin.spec.optimizer_roles[0])} = {{ lr = ..., <its parameters> }} "
                                "gives that network its own settings")
            if params and origin.spec.params:
                description += "".join(f"\n  [cyan]{p}[/]: {escape(v.describe())}"
                                       for p, v in origin.spec.params.items())
            description += "" if origin.problem is None else " [red](refused: see below)[/]"
            table.add_row(k, name, description, origin.plugin, origin.qualified)
    if kind in (None, "suite"):
        for info in builtin_suite_infos(registry):
            cells = f"{info.cells} cells" if info.cells is not None else f"cannot be planned here: {info.problem}"
            table.add_row("suite", info.name, f"{escape(info.description)} [dim]({escape(cells)})[/]",
                          "built-in", "")
    console.print(table)
    for problem in registry.problems:
        errors.print(f"[bold yellow]plugin problem:[/] {escape(str(problem))}", highlight=False)
    for note in registry.ambiguities():
        errors.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
