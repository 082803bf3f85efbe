"""The dashboard in a real browser (Debian's Chromium, headless, through Playwright) against a real `central up`.

The edge runs this repository's own solution (simulated camera and Sense HAT,
local vision) with telemetry every second, so charts fill within seconds. Each
test keeps a full-page screenshot under test-artifacts/ (pass or fail) for a
person to look at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.fixtures.edge import REPO, LocalEdge, wait_for

pytestmark = pytest.mark.slow

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-quic", "--no-first-run", "--disable-sync",
]  # fmt: skip
PHOTO_WITHIN_MS = 10_000
LIVE_WITHIN_MS = 15_000  # the overview script refreshes every 5 s; telemetry comes every second


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser: Browser, request: pytest.FixtureRequest, javascript: bool = True) -> Iterator[Page]:
    """A fresh page; its screenshot lands in test-artifacts/<test name>.png whatever the outcome."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    try:
        yield page
    finally:
        name = re.sub(r"[^\w.-]", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        context.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    yield from open_page(browser, request)


@pytest.fixture
def static_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page with JavaScript disabled: what the read-only views must work with."""
    yield from open_page(browser, request, javascript=False)


def chart_points(page: Page, field: str) -> int:
    return int(page.locator(f'figure.chart[data-field="{field}"]').get_attribute("data-points") or 0)


def test_overview_lists_the_modules_and_charts_fill_with_readings(solution_edge: LocalEdge, page: Page) -> None:
    page.goto(solution_edge.dashboard + "/")
    rows = page.locator("#modules tbody tr")
    expect(rows).to_have_count(3)
    for name in ("camera", "sensor", "vision"):
        expect(page.locator(f'#modules tr[data-module="{name}"] td.status')).to_have_text("running")

    def enough_points() -> bool:
        page.reload()
        return all(chart_points(page, f) >= 3 for f in ("temperature", "humidity", "pressure"))

    wait_for(enough_points, 30, "three readings in every chart")
    expect(page.locator("#alerts li").first).to_contain_text("temperature_high")
    polyline = page.locator('figure.chart[data-field="temperature"] polyline.series').get_attribute("points")
    assert polyline is not None and len(polyline.split()) == chart_points(page, "temperature")
    shown = str(chart_points(page, "temperature"))
    chart = page.locator('figure.chart[data-field="temperature"]')
    expect(chart).not_to_have_attribute("data-points", shown, timeout=LIVE_WITHIN_MS)  # the script refreshed it


def test_take_photo_shows_the_new_photo_with_its_analysis(solution_edge: LocalEdge, page: Page) -> None:
    page.goto(solution_edge.dashboard + "/")
    page.get_by_role("button", name="Take photo").click()
    result = page.locator("#photo-result figure.photo")
    expect(result.locator(".analysis .backend")).to_have_text("local", timeout=PHOTO_WITHIN_MS)
    blob = result.get_attribute("data-blob")
    assert blob and blob.endswith(".jpg")
    expect(result.locator("svg image")).to_have_attribute("href", re.compile(re.escape(blob) + "$"))
    assert page.url == solution_edge.dashboard + "/"  # the script kept the overview in place
    photo = requests.get(f"{solution_edge.dashboard}/photo-bytes/{blob}", timeout=30)
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"  # a JPEG from Azurite


def test_bad_twin_value_is_shown_inline_and_not_applied(solution_edge: LocalEdge, page: Page) -> None:
    page.goto(solution_edge.dashboard + "/twins/sensor")
    page.locator("#desired").fill(json.dumps({"telemetry_interval_s": 0}))
    page.get_by_role("button", name="Save desired properties").click()
    expect(page.locator("#twin-error")).to_contain_text("telemetry_interval_s")
    expect(page.locator("#twin-error")).to_contain_text("minimum")
    page.screenshot(path=str(ARTIFACTS / "dashboard-twin-error.png"), full_page=True)
    assert solution_edge.status()["sensor"]["runtimeStatus"] == "running"
    reported = json.loads(solution_edge.cli("twin", "sensor", "--json").stdout)["properties"]["reported"]
    assert reported["settings"]["telemetry_interval_s"] == 1  # the last good value stays in force

    page.locator("#desired").fill(json.dumps({"bad.key": 1}))
    page.get_by_role("button", name="Save desired properties").click()
    expect(page.locator("#twin-error")).to_contain_text("the hub refused the patch")
    assert requests.get(f"{solution_edge.dashboard}/twins/nosuchmodule", timeout=30).status_code == 404
    assert requests.get(f"{solution_edge.dashboard}/photos/edge-local/no-such.jpg", timeout=30).status_code == 404

    page.locator("#desired").fill(json.dumps({"telemetry_interval_s": 1}))
    page.get_by_role("button", name="Save desired properties").click()
    expect(page.locator("p.ok")).to_be_visible()
    expect(page.locator("#twin-error")).to_have_count(0)


def test_read_only_views_work_without_javascript(solution_edge: LocalEdge, static_page: Page) -> None:
    page = static_page
    page.goto(solution_edge.dashboard + "/")
    page.get_by_role("button", name="Take photo").click()  # a plain form post: lands on the photo's page
    expect(page).to_have_url(re.compile(r"/photos/.+\.jpg$"))
    expect(page.locator("figure.photo .analysis .backend")).to_have_text("local", timeout=PHOTO_WITHIN_MS)

    page.goto(solution_edge.dashboard + "/routes")
    count = page.locator("#routes tr", has_text="sensorTelemetryToIoTHub").locator("td.count")
    assert int(count.inner_text()) > 0

    page.goto(solution_edge.dashboard + "/messages?module=sensor&output=telemetry")
    modules = page.locator("#messages tbody td.module").all_inner_texts()
    assert modules and set(modules) == {"sensor"}

    page.goto(solution_edge.dashboard + "/photos")
    expect(page.locator(".gallery figure.photo").first).to_be_visible()
    page.goto(solution_edge.dashboard + "/")
    assert chart_points(page, "temperature") > 0


def test_route_counts_and_the_message_log_update_in_place(solution_edge: LocalEdge, page: Page) -> None:
    page.goto(solution_edge.dashboard + "/routes")
    count = page.locator("#routes tr", has_text="sensorTelemetryToIoTHub").locator("td.count")
    expect(count).not_to_have_text(count.inner_text(), timeout=LIVE_WITHIN_MS)

    page.goto(solution_edge.dashboard + "/messages?module=sensor&output=telemetry")
    newest = page.locator("#messages tbody tr").first.locator("td").first
    expect(newest).not_to_have_text(newest.inner_text(), timeout=LIVE_WITHIN_MS)
    assert set(page.locator("#messages tbody td.output").all_inner_texts()) == {"telemetry"}


def test_a_post_from_another_site_is_refused(solution_edge: LocalEdge) -> None:
    forged = requests.post(
        f"{solution_edge.dashboard}/modules/sensor/stop", headers={"Origin": "https://attacker.example"}, timeout=30
    )
    assert forged.status_code == 403
    rebound = requests.get(f"{solution_edge.dashboard}/", headers={"Host": "attacker.example:8080"}, timeout=30)
    assert rebound.status_code == 403
    assert solution_edge.status()["sensor"]["runtimeStatus"] == "running"


def test_module_buttons_stop_and_start_a_module(solution_edge: LocalEdge, page: Page) -> None:
    """Last in this file: it takes the camera down for a moment."""
    page.goto(solution_edge.dashboard + "/")
    row = page.locator('#modules tr[data-module="camera"]')
    before = row.locator("td.pid").inner_text()
    row.get_by_role("button", name="stop", exact=True).click()
    expect(row.locator("td.status")).not_to_have_text("running")
    assert solution_edge.status()["camera"]["runtimeStatus"] != "running"
    row.get_by_role("button", name="start", exact=True).click()
    expect(row.locator("td.status")).to_have_text("running")
    assert row.locator("td.pid").inner_text() not in ("", before)
    wait_for(lambda: solution_edge.cli("invoke", "camera", "get_status").returncode == 0, 30, "camera answers again")
