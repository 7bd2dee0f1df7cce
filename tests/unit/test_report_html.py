"""`genbench report`: the HTML page's tables hold scipy's bootstrap intervals of the stored
numbers with n per metric and the cells that failed or gave NaN, best groups are marked only when
their intervals separate (and none of their cells collapsed), failures are listed, every picture
is inline, and the same store (or a copy of it) renders the same file."""

import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner
from report_store import PANEL, build_store, score
from scipy import stats

from genbench.cli import cli
from genbench.plugins.reporters.html import Section, number, render_report
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
    # curves of 2 metrics and 1 statistic, the throughput chart
    assert len(images) == 2 * 3 * 2 + 1 + 2 + 3 + 1
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
