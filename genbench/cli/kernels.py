"""`genbench kernels`: the fused ops' forward+backward time per backend, against a memcpy (a
line per measured case on stderr as it goes, the table on stdout at the end)."""

from __future__ import annotations

import click

from genbench.api.errors import GenbenchError
from genbench.api.registry import load_plugins
from genbench.api.layout import Column, Layout
from genbench.cli.console import console, errors, print_text


def _sizes(text: str) -> list[int]:
    try:
        return [int(float(part)) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of sizes, e.g. 1e3,1e5,1.6e7") from None


@click.command("kernels")
@click.option("--sizes", default="1e3,1.6e4,2.6e5,4.2e6,1.6e7", show_default=True,
              help="Comma-separated element counts.")
@click.option("--backends", default="",
              help="Comma-separated registered kernel backends (default: every one); ones that cannot "
                   "run here are skipped with the reason.")
@click.option("--ops", default="gan_loss,vae_loss,bias_act,batchnorm_act", show_default=True)
@click.option("--repeats", default=10, show_default=True, type=click.IntRange(min=2))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write the rows as CSV.")
def command(sizes: str, backends: str, ops: str, repeats: int, csv_path: str | None) -> None:
    """Benchmark the fused ops: forward+backward time per backend against a same-size memcpy."""
    from genbench.kernels.bench import TABLE_HEADERS, run_kernel_benchmarks, table_cells

    registry = load_plugins()
    chosen = [b.strip() for b in backends.split(",") if b.strip()] or registry.names("kernel")
    runnable = []
    for name in chosen:
        spec = registry.get("kernel", name)  # UnknownComponentError names the registered ones
        reason = spec.available()
        if reason is None:
            runnable.append(spec.backend())
        else:
            errors.print(f"[yellow]skipping {name}:[/] {reason}", highlight=False)

    def measured(done: int, total: int, op: str, backend: str, size: int, median_ms: float) -> None:
        width = len(str(total))
        errors.print(f"{done:>{width}}/{total} {op} {backend} {size:,}: {median_ms:.3f} ms", highlight=False,
                     markup=False)

    try:
        rows = run_kernel_benchmarks(_sizes(sizes), runnable, [o.strip() for o in ops.split(",")],
                                     repeats, csv_path, measured)
    except ValueError as exc:
        raise GenbenchError(str(exc)) from None
    columns = [Column(h, right=h not in ("kernel", "provider")) for h in TABLE_HEADERS]
    print_text(Layout.of(console).table(columns, table_cells(rows)))
    if csv_path:
        console.print(f"wrote {len(rows)} rows to {csv_path}")
