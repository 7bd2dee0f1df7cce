"""One layout rule for every table (genbench.api.layout): on a terminal 80 columns wide no line
is longer than 80 and no name or word is split across lines; piped, each row is one whole line.
Each command is rendered both ways: list, list --kind suite, compare, run --dry-run, kernels, show."""

import re

import pytest
from test_compare import record

from genbench.api.layout import Column, Layout
from genbench.api.registry import load_plugins
from genbench.results.compare import comparisons
from genbench.suite.catalog import builtin_suite_infos

BOX = "│┃┏┓┗┛┡┩└┘┌┐├┤┬┴┼━─╇╋┳┻╸╹"
WAYS = [{"columns": 80, "terminal": True}, {"columns": 80, "terminal": False}]


def tokens(text: str) -> list[str]:
    return [t for t in re.split(rf"[\s{BOX}]+", text) if t]


def flat(text: str) -> str:
    """The text as one line of words: a word split across lines reads as two here."""
    return " ".join(tokens(text))


def fits(text: str, width: int, whole: tuple[str, ...] = ()) -> None:
    """No line longer than `width`, except one holding a name of `whole` longer than a line."""
    for line in text.splitlines():
        assert len(line) <= width or any(name in line and len(name) > width - 8 for name in whole), line


def test_names_stay_whole_prose_wraps_at_words_and_a_pipe_gets_whole_rows():
    columns = [Column("name"), Column("n", right=True), Column("description", prose=True)]
    name = "nonsaturating/rating-of-a-long-label"
    prose = "a sentence long enough to wrap over several lines " * 4
    rows = [[name, "12", prose], ["quick", "3", "short\nand a second line"]]
    vocabulary = set(tokens(prose)) | {name, "12", "quick", "3", "short", "and", "a", "second", "line", "name", "n",
                                       "description", "title"}
    for width in (40, 60, 80, 200):
        text = Layout(width).table(columns, rows, "title")
        fits(text, width)
        assert set(tokens(text)) <= vocabulary | {"cells"}, text  # no fragment of a split word
        assert any(name in line for line in text.splitlines())
        assert flat(prose) in flat(text)
    piped = Layout(80, piped=True).table(columns, rows).splitlines()
    assert piped[0].split() == ["name", "n", "description"] and set(piped[1]) == {"-", " "}
    assert piped[2].startswith(name) and piped[2].endswith(prose.strip())  # one line, never wrapped
    assert piped[4].strip() == "and a second line"  # a cell's own lines continue under it
    assert Layout(30).sentence("a verdict " * 8, indent=2).splitlines()[1].startswith("  a")


def test_piped_prose_goes_last_so_one_long_sentence_pads_no_other_column():
    columns = [Column("kind"), Column("description", prose=True), Column("plugin")]
    rows = [["model", "short", "genbench:mlp"], ["metric", "a sentence " * 30, "genbench:fid"]]
    piped = Layout(80, piped=True).table(columns, rows).splitlines()
    assert piped[0].split() == ["kind", "plugin", "description"]
    assert piped[2].split() == ["model", "genbench:mlp", "short"] and len(piped[2]) < 40
    assert piped[3].endswith("a sentence")  # the long row whole, on one line


@pytest.mark.parametrize("way", WAYS, ids=["terminal80", "piped"])
def test_list_keeps_every_name_and_description_whole(invoke_genbench, way):
    registry = load_plugins()
    shown = invoke_genbench("list", **way)
    assert shown.returncode == 0, shown.stderr
    if way["terminal"]:
        fits(shown.stdout, 80)
    lines = shown.stdout.splitlines()
    for kind in ("dataset", "objective", "metric", "family", "kernel"):
        for name in registry.names(kind):
            origin = registry.origin(kind, name)
            assert any(line.split()[:2] == [kind, name] for line in lines if line.split()), name
            assert flat(origin.spec.description) in flat(shown.stdout), name
            assert any(origin.qualified in line.split() for line in lines)
    suites = invoke_genbench("list", "--kind", "suite", **way).stdout
    for info in builtin_suite_infos(registry):
        assert flat(info.description) in flat(suites) and info.expected and flat(info.expected) in flat(suites)
        row = next(line for line in suites.splitlines() if line.split() and line.split()[0] == info.name)
        if not way["terminal"]:  # piped: the whole row on one line
            cells = "-" if info.cells is None else info.cells  # "-": it cannot be planned here (no data)
            assert info.description in row and info.expected in row and f" {cells} " in row
    if way["terminal"]:
        fits(suites, 80)
        assert "seconds" in suites and "129 s on 2 cores (measured)" in suites


@pytest.mark.parametrize("way", WAYS, ids=["terminal80", "piped"])
def test_compare_and_show_keep_labels_and_verdicts_whole(tmp_path, registry, write_suite, invoke_genbench, way):
    out = record(tmp_path, registry, write_suite, {"saturating": {0: 1.0, 1: 2.0}, "nonsaturating": {0: 4.0, 1: 6.5}})
    shown = invoke_genbench("compare", str(out), "--metric", "modes", "--baseline", "nonsaturating", **way)
    assert shown.returncode == 0, shown.stderr
    context = "ring8(n_train=512,n_test=64)"
    for label in ("saturating", "nonsaturating", context):
        assert label in tokens(shown.stdout)
    (found,) = comparisons(out, "modes", "nonsaturating", registry=registry)
    assert flat(found.verdict()) in flat(shown.stdout)  # every word of the sentence whole
    if way["terminal"]:
        fits(shown.stdout, 80)
    else:
        assert any(line.split()[:3] == [context, "saturating", "nonsaturating"] for line in shown.stdout.splitlines())
    table = invoke_genbench("show", str(out), **way)
    assert table.returncode == 0, table.stderr
    if way["terminal"]:
        fits(table.stdout, 80)
    assert {"saturating", "nonsaturating"} <= set(tokens(table.stdout))


@pytest.mark.parametrize("way", WAYS, ids=["terminal80", "piped"])
def test_dry_run_and_kernels_keep_paths_and_names_whole(invoke_genbench, tmp_path, way):
    dry = invoke_genbench("run", "gan-smoke", "--out", str(tmp_path / "out"), "--dry-run", **way)
    assert dry.returncode == 0, dry.stderr
    paths = [t for t in tokens(dry.stdout) if t.endswith("/seed0")]
    assert len(paths) == 7 and "ring8(n_train=1000,n_test=100)/mlp(hidden=16,depth=1,z_dim=4)/wgan-gp/adam/eager/seed0" \
        in paths
    assert "threads for the rest" in flat(dry.stdout)
    if way["terminal"]:
        fits(dry.stdout, 80, tuple(paths))
    kernels = invoke_genbench("kernels", "--sizes", "1e3", "--backends", "eager", "--ops", "gan_loss",
                              "--repeats", "2", **way)
    assert kernels.returncode == 0, kernels.stderr
    assert {"gan_loss", "torch-alloc", "eager"} <= set(tokens(kernels.stdout))
    if way["terminal"]:
        fits(kernels.stdout, 80)
    else:
        assert any(line.split()[:3] == ["gan_loss", "1000", "eager"] for line in kernels.stdout.splitlines())
