"""The HTML report in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
driven by selenium) loads the file with no console error and no failed or network request,
every <img> decodes; at 1400 and at 800 pixels nothing runs past the window's width, the metric
figures sit three and two to a row, and a full-page screenshot of each width is saved under the
test's tmp folder (or under $GENBENCH_SCREENSHOTS, to look at)."""

import json
import os
import shutil
from pathlib import Path

import pytest
from report_store import build_store

from genbench.plugins.reporters.html import render_report
from genbench.results.model import read

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: pip install -e '.[dev]'")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="no Chromium here: apt-get install -y chromium chromium-driver (.ci/run does)")
WIDTH = 1400
WIDTHS = {1400: 3, 800: 2}  # window width -> metric figures per row
MAX_HEIGHT = 12000  # pixels of the full-page screenshot, at most


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers on the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={WIDTH},1000", "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def load(driver, path) -> dict:
    """Open `path`; its console errors, failed requests, requests beyond the file itself, and
    each image's (alt, complete, naturalWidth)."""
    driver.get_log("browser"), driver.get_log("performance")  # start from empty logs
    driver.get(path.as_uri())
    driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                "Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))"
                                ".then(() => done(true));")
    images = driver.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);")
    console = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    failed = [e["params"].get("errorText") for e in events if e["method"] == "Network.loadingFailed"]
    urls = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    outside = [url for url in urls if url != path.as_uri() and not url.startswith("data:")]
    return {"console": console, "failed": failed, "outside": outside, "images": images}


def screenshot(driver, width: int, target) -> None:
    driver.set_window_size(width, 1000)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 100, MAX_HEIGHT))
    driver.save_screenshot(str(target))


def layout(driver, width: int) -> dict:
    """At `width`: the page's scroll width, and how many figures of the largest grid share a row."""
    driver.set_window_size(width, 1000)
    return driver.execute_script(
        "const grids = Array.from(document.querySelectorAll('.figures'));"
        "const grid = grids.reduce((a, b) => b.children.length > a.children.length ? b : a);"
        "const tops = Array.from(grid.children).map(i => i.offsetTop);"
        "return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,"
        "        per_row: tops.filter(t => t === tops[0]).length};")


def test_the_report_loads_cleanly_in_chromium(browser, tmp_path):
    results = build_store(tmp_path / "results")
    page = tmp_path / "report.html"
    page.write_text(render_report(read(results)), encoding="utf-8")
    seen = load(browser, page)
    assert seen["console"] == [] and seen["failed"] == [] and seen["outside"] == []
    assert len(seen["images"]) == 20  # 12 samples (2 groups x 3 seeds x 2 steps), 8 figures
    assert all(complete and width > 0 for _, complete, width in seen["images"]), seen["images"]
    shots = Path(os.environ.get("GENBENCH_SCREENSHOTS") or tmp_path)
    for width, per_row in WIDTHS.items():
        found = layout(browser, width)
        assert found["scroll"] <= found["client"], f"the page runs past {width} px: {found}"
        assert found["per_row"] == per_row, found
        screenshot(browser, width, shots / f"report-{width}.png")
        assert (shots / f"report-{width}.png").read_bytes().startswith(b"\x89PNG")


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    """The same checks on a page with a missing picture, a script error and a network request."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><img alt='gone' src='missing.png'>"
                    "<script>undefinedFunction()</script><img alt='remote' src='http://127.0.0.1:9/x.png'>"
                    "</body></html>")
    seen = load(browser, page)
    assert any("undefinedFunction" in message for message in seen["console"])
    assert seen["failed"] and "http://127.0.0.1:9/x.png" in seen["outside"]
    assert ["gone", True, 0] in seen["images"]
