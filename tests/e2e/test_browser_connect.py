"""The browser part of connecting QuickBooks, in headless Chromium: our connect page (Continue to Intuit), our
cookie-bound redirect, the sandbox consent page (pick the company, Authorize), back to our callback and the result
page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from deferredrev.storage.models import QboConnection
from tests.e2e.harness import ADMIN, Stack

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="Debian's chromium-driver is not installed"),
]


@pytest.fixture
def chrome() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def test_connect_in_a_real_browser(stack: Stack, chrome) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    stack.intuit.auto_consent = None  # the sandbox shows its consent page
    chrome.get(stack.connect_link())
    assert chrome.find_element(By.TAG_NAME, "h1").text == "Connect QuickBooks to Acme Finance"  # our page first
    assert "close this page" in chrome.find_element(By.CSS_SELECTOR, ".warning").text
    assert "/qbo/connect" in chrome.current_url and stack.intuit.requests.count(path_contains="authorize") == 0
    chrome.find_element(By.XPATH, "//button[normalize-space()='Continue to Intuit']").click()
    WebDriverWait(chrome, 10).until(lambda driver: "Sandbox Company_US_1" in driver.page_source)
    # Intuit's page lists the companies to pick
    chrome.find_element(By.CSS_SELECTOR, "button[value='allow']").click()
    # The click submits the consent form; the browser then follows our callback's redirect to the result page.
    WebDriverWait(chrome, 10).until(expected_conditions.url_contains("/qbo/result"))
    assert "QuickBooks is connected" in chrome.find_element(By.TAG_NAME, "h1").text
    cookies = {c["name"]: c for c in chrome.get_cookies()}
    assert "deferredrev_qbo_browser" not in cookies  # the binding cookie is gone after use
    stack.slack.wait_for_dm(ADMIN, contains="Connected to")
    with stack.server.runtime.sessions() as session:
        assert session.scalars(select(QboConnection)).one().status == "connected"


def test_binding_cookie_is_secure_and_http_only(stack: Stack) -> None:
    start = stack.open_link(stack.connect_link())
    cookie = start.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie and "path=/qbo" in cookie
