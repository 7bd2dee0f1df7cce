"""The `genbench` command: one module per subcommand, each parsing its arguments and printing;
the work is done by the run sessions (genbench.run.session), the suite, the results and the
reporters. `main` is the entry point: a GenbenchError is printed without a traceback."""

from __future__ import annotations

import sys
import warnings

import click

from genbench import PLUGIN_API
from genbench.api.compat import PluginDeprecationWarning
from genbench.api.errors import GenbenchError
from genbench.cli import compare, export, kernels, report, rescore, run, show
from genbench.cli import list as list_module
from genbench.cli.console import errors
from genbench.run.signals import Interrupted, second_interrupt_exits


def main() -> None:
    """Entry point: GenbenchError -> message without traceback, exit 2."""
    warnings.simplefilter("default", PluginDeprecationWarning)  # shown once each, not hidden as library ones are
    with second_interrupt_exits():  # a second Ctrl-C while the first is handled exits at once, with 130
        _main()


def _main() -> None:
    try:
        cli(standalone_mode=False)
    except GenbenchError as exc:
        errors.print("[bold red]error:[/]", end=" ")
        errors.print(str(exc), markup=False, highlight=False)  # "[[matrix]]" stays as written
        sys.exit(2)
    except click.exceptions.Abort:  # Ctrl-C: finished cells are already in the store
        errors.print("[yellow]interrupted[/]: every finished cell is saved; run the same command "
                     "again to resume (interrupted cells re-run).")
        sys.exit(130)
    except Interrupted as exc:  # SIGINT, SIGTERM, SIGHUP during a run: the workers are killed
        errors.print(f"[yellow]interrupted[/] by {exc.signal_name}: every finished cell is saved; run the "
                     "same command again to resume (interrupted cells re-run).", soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


@click.group()
@click.version_option(package_name="genbench", message=f"%(prog)s %(version)s (plugin API {PLUGIN_API})")
def cli() -> None:
    """genbench: benchmark deep generative models through plugins."""


for module in (list_module, run, kernels, show, compare, export, report, rescore):
    cli.add_command(module.command)
