"""`genbench report`: the HTML page's tables hold scipy's bootstrap intervals of the stored
numbers with n per metric and the cells that failed or gave NaN, best groups are marked only when
their intervals separate (and none of their cells collapsed), failures are listed, every picture
is inline, and the same store (or a copy of it) renders the same file; each group's settings,
what ran with which --set, every seed's samples, rounded provenance with its raw JSON, one title
per section, comparisons against a baseline without real-vs-real floors, and curves of thousands
of points binned, told apart by dash and marker, at a size for the page."""

import base64
import html
import io
import re
import shutil
import time
from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner
from report_store import PANEL, build_store, score
from scipy import stats

from genbench.cli import cli
from genbench.plugins.reporters.html import Section, number, render_report
from genbench.plugins.reporters.html_data import Column, DatasetBlock, Group
from genbench.results.model import read
from genbench.results.statistics import bootstrap_interval
from genbench.results.store import Store


class Page(HTMLParser):
    """The tags, image sources, table cells and text of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.tables, self.cells, self.text = [], 0, [], []
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self.tables += 1
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def render(directory, **kwargs) -> str:
    return render_report(read(directory), **kwargs)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("report") / "results")


@pytest.fixture(scope="module")
def page(results):
    return render(results)


def expected_interval(values):
    ci = stats.bootstrap((np.asarray(values),), np.mean, confidence_level=0.95, n_resamples=9999,
                         method="percentile", rng=np.random.default_rng(0)).confidence_interval
    return ci.low, ci.high


def test_interval_is_scipys_percentile_bootstrap_and_undefined_for_one_value():
    values = [1.0, 2.5, 2.0, 4.0]
    assert bootstrap_interval(values) == pytest.approx(expected_interval(values), rel=0, abs=0)
    assert bootstrap_interval([3.0]) is None
    assert bootstrap_interval([2.0, 2.0]) == (2.0, 2.0)


def test_summary_table_holds_mean_interval_and_n_of_the_stored_values(page):
    parsed = Page(page)
    rows = {cell.replace(" ★", "") for cell in parsed.cells}
    for group, objective in enumerate(("alpha", "beta")):
        last = [score(group, seed, 20) for seed in (0, 1, 2)]
        low, high = expected_interval(last)
        assert f"{number(np.mean(last))} [{number(low)}, {number(high)}] n=3" in rows, objective
    # beta's seed 2 has a NaN distance: the mean and interval are over 2 seeds, and n says so
    distance = [100.0 - score(1, seed, 20) for seed in (0, 1)]
    low, high = expected_interval(distance)
    assert f"{number(np.mean(distance))} [{number(low)}, {number(high)}] n=2 of 3: 1 NaN" in rows
    # the failed and the diverged group: counted, nothing averaged (the diverged cell had no eval)
    assert rows >= {"1/1", "- n=0 of 1: 1 failed or diverged"}


def test_headers_show_direction_label_and_unit(page):
    cells = Page(page).cells
    assert "score ↑ (%)" in cells and "distance ↓ (nats)" in cells
    assert "|grad G|" in cells  # a training statistic: its label, no direction
    assert "loss" not in cells  # not a default column: only in the curves


def test_best_group_marked_only_where_its_interval_separates(page, tmp_path):
    # scores lie 10 apart between groups: beta wins score (higher is better) and distance (lower),
    # but its distance collapsed (NaN) on one seed: that best is not marked
    cells = Page(page).cells
    assert "10.7 ★ [10.2, 11.2] n=3" in cells and page.count("★") == 1
    assert render(build_store(tmp_path / "whole", failures=False, nan_seed=None)).count("★") == 2
    close = build_store(tmp_path / "close", objectives=("alpha", "beta"), failures=False, nan_seed=None)
    store = Store(close)
    store.db.execute("UPDATE metrics SET value = value - 10 WHERE cell_id LIKE '%-beta-%' AND name='score'")
    store.close()
    assert render(close).count("★") == 1  # equal score intervals: only the distance's best is marked


def test_failed_and_diverged_cells_are_listed_with_their_error(page):
    text = " ".join(Page(page).cells)
    assert "toy/net/broken/eager/seed0 failed ValueError: the model blew up" in text
    assert "toy/net/wild/eager/seed0 diverged at step 7 loss_d is not finite at step 7" in text


def test_every_image_is_an_inline_png_and_nothing_points_at_the_network(page):
    images = Page(page).images
    # 2 groups x 3 seeds x 2 eval steps of samples, the legend, the panel's 2 statistics, the
    # curves of 3 metrics (a floor among them) and 1 statistic, the throughput chart
    assert len(images) == 2 * 3 * 2 + 1 + 2 + 4 + 1
    assert all(img["src"].startswith("data:image/png;base64,") for img in images)
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page


def test_panels_throughput_and_provenance(page):
    parsed = Page(page)
    assert PANEL in parsed.text
    text = " ".join(parsed.cells)
    assert "extractor tiny-net" in text and "extractor_accuracy 0.97" in text
    assert "n_real 100" in text and "n_fake 100" in text and "params n=100" in text
    assert "git_sha abc123" in text and "load average (1 min) 0.50 to 0.70" in text
    assert "eager toy / net / alpha 3 1001 10 0.25" in text  # kernel, group, cells, samples/s, steps/s, warm-up apart


def test_same_store_and_a_copied_folder_render_the_same_page(results, page, tmp_path):
    assert render(results) == page
    copy = shutil.copytree(results, tmp_path / "copy")
    assert render(copy) == page


def test_extra_sections_are_drawn_after_the_suites_own(results):
    section = lambda results, suite, baseline: [Section(f"comparison of {suite}", "<p id='extra'>paired</p>")]
    text = render(results, sections=(section,))
    assert "<h3>comparison of synthetic</h3>" in text and "<p id='extra'>paired</p>" in text
    assert text.index("Failed and diverged") < text.index("comparison of synthetic")


def test_cli_writes_the_report(results, tmp_path, page):
    target = tmp_path / "out.html"
    outcome = CliRunner().invoke(cli, ["report", str(results), "-o", str(target)])
    assert outcome.exit_code == 0, outcome.output
    assert target.read_text(encoding="utf-8") == page
    missing = CliRunner().invoke(cli, ["report", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "no results" in str(missing.exception)


def test_a_run_stores_what_the_report_reads(write_suite, registry):
    """Scores carry their outputs' direction, label and unit; GAN statistics carry their panel."""
    from genbench.suite.config import load
    from genbench.suite.plan import expand
    from genbench.run.runner import run_cell

    cell = expand(load(str(write_suite(objectives='["saturating"]')), registry), registry)[0]
    result = run_cell(cell, registry)
    assert result.status == "done", result.error
    rows = {m.name: m.provenance for m in result.metrics}
    modes = registry.get("metric", "modes").outputs
    for name, output in modes.items():
        assert rows[name]["outputs"][name] == {"higher_is_better": output.higher_is_better,
                                               "label": output.label, "unit": output.unit}
    assert rows["g_grad_norm"]["panel"] == rows["d_fake"]["panel"] != ""
    assert rows["loss_d"]["panel"] == ""


def test_a_stored_picture_path_outside_the_folder_is_not_read(tmp_path):
    results = build_store(tmp_path / "results", failures=False)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"secret" * 10)
    store = Store(results)
    store.db.execute("UPDATE artifacts SET path='../secret.png'")  # a hostile store
    store.db.execute("UPDATE artifacts SET path='artifacts/nothing.png' WHERE step=10")  # a missing file
    store.close()
    page = render(results)
    assert not [img for img in Page(page).images if img["alt"].endswith(("step 10", "step 20"))]
    assert "c2VjcmV0" not in page  # base64 of "secret"


def test_settings_show_what_every_group_shares_and_what_tells_them_apart(page):
    cells = Page(page).cells
    shared = list(zip(cells, cells[1:], strict=False))
    for row in (("train.steps", "20"), ("train.batch_size", "32"), ("model", "net (width=8)"),
                ("optimizer", "adam (beta1=0.5, eps=1e-08)"), ("metrics", "quality (n=100)"),
                ("genbench", "0.1.0"), ("torch", "2.13.0")):
        assert row in shared, row
    assert "train.lr" in cells and "eval steps" in cells
    text = " ".join(cells)
    assert "alpha alpha (k=1) 0.0002" in text and "beta beta (k=1) 0.0004" in text  # a row per group


def test_the_suite_says_what_ran_and_with_which_overrides(page, tmp_path, invoke_genbench, write_suite):
    assert "Ran 8 cells, 3 seeds (0, 1, 2), 20 training steps, batch size 32; the latest run with --set " \
           "train.steps=20." in " ".join(" ".join(Page(page).text).split())
    out = tmp_path / "out"
    run = invoke_genbench("run", str(write_suite()), "--out", str(out), "--executor", "local", "--set", "train.steps=2",
                          "--set", "eval.every=2")
    assert run.returncode == 0, run.stdout + run.stderr
    assert read(out).settings == {"tiny": ("train.steps=2", "eval.every=2")}
    assert "the latest run with --set train.steps=2 --set eval.every=2." in render(out)


def test_samples_of_every_seed(page):
    alts = {img["alt"] for img in Page(page).images}
    assert {f"{g}, seed {s}, at step {t}" for g in ("alpha", "beta") for s in (0, 1, 2) for t in (10, 20)} <= alts


def test_provenance_is_rounded_without_empty_values_and_its_raw_json_behind_details(page):
    cells = Page(page).cells
    assert "0.9712" in cells and "0.971234" not in cells  # 4 significant digits in the table
    assert "inception_path" not in cells and "cuda_device" not in cells  # empty: left out
    raw = re.search(r"<details><summary>raw provenance of quality.*?</summary><pre>(.*?)</pre>", page, re.S)
    assert raw is not None and '"extractor_accuracy": 0.971234' in html.unescape(raw.group(1))


def test_each_section_has_one_title(page):
    assert page.count(PANEL) == 1  # the panel's heading, not a second title drawn into its figures
    titles = re.findall(r"<h[34]>(.*?)</h[34]>", page)
    assert len(titles) == len(set(titles)), titles


def test_comparisons_against_a_baseline_leave_out_real_vs_real_floors(results, tmp_path):
    page = render(results)
    titles = re.findall(r"<h3>(Is it really better\?.*?)</h3>", page)
    assert sorted(titles) == ["Is it really better? distance, against alpha, paired over seeds",
                              "Is it really better? score, against alpha, paired over seeds"]
    assert "<li>beta vs alpha" in page and "<li>broken vs alpha" in page and "<li>alpha vs" not in page
    target = tmp_path / "beta.html"
    outcome = CliRunner().invoke(cli, ["report", str(results), "-o", str(target), "--baseline", "beta"])
    assert outcome.exit_code == 0, outcome.output
    assert "Is it really better? score, against beta, paired over seeds" in target.read_text(encoding="utf-8")
    wrong = CliRunner().invoke(cli, ["report", str(results), "-o", str(target), "--baseline", "gamma"])
    assert wrong.exit_code != 0 and "--baseline 'gamma' is no group" in str(wrong.exception)


def test_thousands_of_points_draw_binned_and_fast():
    from genbench.plugins.reporters.html_plots import MAX_POINTS, series

    group = Group("g", curves={"loss": {seed: [(step, float(step % 7) + seed) for step in range(1, 5001)]
                                        for seed in range(3)}})
    started = time.perf_counter()
    steps, mean, low, high = series(group, "loss")
    assert time.perf_counter() - started < 1.0
    assert len(steps) == MAX_POINTS and steps[-1] == 5000  # the last step closes the last bin
    first = np.arange(1, 5000 // MAX_POINTS + 2)  # the first bin's steps (5000 / 300: 17 of them)
    assert mean[0] == pytest.approx(np.mean(first % 7) + 1) and low[0] == 0 and high[0] == 8
    short = Group("s", curves={"loss": {0: [(10, 1.0), (20, float("nan"))], 1: [(10, 3.0), (20, 2.0)]}})
    steps, mean, low, high = series(short, "loss")
    assert list(steps) == [10, 20] and list(mean) == [2.0, 2.0] and list(low) == [1.0, 2.0]


def test_groups_differ_in_colour_dash_and_marker_and_equal_curves_are_named():
    from genbench.plugins.reporters.html_plots import draw_column, pyplot, styles

    groups = [Group(label, curves={"loss": {0: [(s, s * (2.0 if label == "c" else 1.0)) for s in range(50)]}})
              for label in "abc"]
    looks = styles(groups)
    assert len({(s.line, s.marker) for s in looks.values()}) == 3
    assert len({s.colour for s in styles([Group(str(i)) for i in range(10)]).values()}) == 10
    block = DatasetBlock("toy", ["objective"], {}, [Column("loss", "loss", train=True)], groups, None)
    figure, axes = pyplot().subplots()
    assert draw_column(axes, block, block.columns[0], looks)
    assert "same curve: a = b" in axes.get_xlabel()
    offsets = [line.get_markevery()[0] for line in axes.get_lines()]
    assert len(set(offsets)) == 3  # a's and b's markers sit at different steps: both show
    pyplot().close(figure)


def test_figures_are_sized_for_the_page(page):
    from PIL import Image

    sizes = {img["alt"]: Image.open(io.BytesIO(base64.b64decode(img["src"].split(",", 1)[1]))).size
             for img in Page(page).images if "seed" not in img["alt"]}
    metric = sizes["toy: score"]
    assert metric[0] >= 600 and metric[0] / metric[1] == pytest.approx(4.6 / 3.2, rel=0.02)  # crisp at 1/3 page
    assert sizes["samples per second per group"][0] >= 1300  # drawn at the page's width
    assert 'class="figures"' in page and "minmax(360px, 1fr)" in page  # a grid that follows the width
