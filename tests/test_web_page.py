"""The web page end to end in headless Chromium (Debian's chromium, driven by Playwright)."""

import os
import shutil

import pytest
from conftest import LiveServer, toy_genre, write

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="chromium is not installed (apt-get install -y chromium; .ci/run does this)")


def test_upload_shows_label_chart_and_timeline(tiny_checkpoint, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    from genrekit import GenreClassifier
    from genrekit.serve.app import create_app
    from genrekit.serve.guard import Guard

    clf = GenreClassifier.load(tiny_checkpoint)
    clip = write(tmp_path / "clip.wav", toy_genre("chirps", 11, seconds=4.0))
    expected = clf.predict(clip).label
    guard = Guard(token="page-token")  # as `genrekit serve` on 127.0.0.1 runs it
    with LiveServer(create_app(clf, guard=guard)) as srv, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = uploaded(browser, srv.url, clip, query="?token=page-token")
            assert page.inner_text("#label") == expected
            bars = page.locator("#chart svg rect")
            assert bars.count() == len(clf.classes_)
            assert page.locator("#timeline svg rect").count() >= 3
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
            assert (tmp_path / "page.png").stat().st_size > 10_000
            page.set_input_files("#file", _text_file(tmp_path))
            page.wait_for_selector("#status.error", timeout=15_000)
            assert "not an audio file" in page.inner_text("#status")
        finally:
            browser.close()


def uploaded(browser, url, clip, timeout=30_000, query=""):
    """The page at ``url`` once ``clip`` is uploaded and its result drawn."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(url + "/" + query)
    page.wait_for_function("document.getElementById('model').textContent.includes('genres')")
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#chart svg rect", timeout=timeout)
    return page


def _text_file(tmp_path):
    p = tmp_path / "notes.mp3"
    p.write_text("definitely not audio\n" * 20)
    return str(p)


def test_api_docs_render_in_a_browser(tiny_checkpoint):
    """/docs shows the API (Swagger UI 5 from the app itself renders OpenAPI 3.1)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from genrekit import GenreClassifier
    from genrekit.serve.app import create_app

    with LiveServer(create_app(GenreClassifier.load(tiny_checkpoint))) as srv, \
            sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(srv.url + "/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            text = page.inner_text("body")
            assert "Unable to render" not in text and "/v1/predict" in text
        finally:
            browser.close()


def test_unknown_song_and_a_long_song_read_right(tiny_checkpoint, tmp_path):
    """A song the model abstains on says "not one of my genres" with the closest genre;
    the headline is for a listener ("NN% - from N slices of 4:00"), and the timeline's tick
    labels stay inside the chart for a 4-minute song."""
    sync_api = pytest.importorskip("playwright.sync_api")
    import numpy as np

    from genrekit import GenreClassifier
    from genrekit.serve.app import create_app

    clf = GenreClassifier.load(tiny_checkpoint, min_confidence=0.9)  # top ~1/3: unknown
    one = toy_genre("chirps", 11, seconds=4.0)
    clip = write(tmp_path / "long.wav", np.tile(one, 60))  # 240 s
    expected = clf.predict(clip)
    assert expected.unknown
    with LiveServer(create_app(clf)) as srv, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = uploaded(browser, srv.url, clip, timeout=60_000)
            assert page.inner_text("#label") == "not one of my genres"
            score = page.inner_text("#score")
            assert f"closest: {expected.closest}" in score
            assert f"from {len(expected.timeline)} slices of 4:00" in score
            assert "weighted" not in score
            assert page.inner_text("#set") == ""  # no --set on this server
            ticks = page.locator("#timeline svg text")
            assert ticks.last.text_content() == "4:00"
            svg = page.locator("#timeline svg").bounding_box()
            for i in range(ticks.count()):
                box = ticks.nth(i).bounding_box()
                assert svg["x"] - 0.5 <= box["x"] and \
                    box["x"] + box["width"] <= svg["x"] + svg["width"] + 0.5, i
        finally:
            browser.close()
