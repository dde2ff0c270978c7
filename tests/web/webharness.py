"""Harness of the web page tests: Debian's Chromium under Selenium, phones on a loop thread.

Why a thread for the phones: Selenium's client is blocking, the phones are
asyncio. The phones run on their own event loop in a background thread
(``PhoneLoop``), the test drives the browser from its own thread and reads
the phones only through ``PhoneLoop.call`` (run on the loop, result back).
Chromium is the system one (``/usr/bin/chromium`` + ``chromedriver``);
missing, the tests fail under CI (``PIPHONE_CI=1``) and skip elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from peers_proc import missing, require_module

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Screenshots of the pages: docs/web (committed, shown by README and docs) when
#: PIPHONE_WEB_SHOTS=1 (``make screenshots``), else a scratch directory, so that an
#: ordinary test run leaves the tree clean.
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "web"
WAIT = 20.0  # generous: a slow shared machine delays, never fails, a step


def need(path: str, what: str) -> str:
    found = path if os.access(path, os.X_OK) else shutil.which(os.path.basename(path))
    if found is None:
        missing(f"{what} not installed (scripts/install-deps.sh installs it)")
    return found


@contextmanager
def chromium(download_dir: Path | None = None, width: int = 1000,
             height: int = 900, extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    """A headless Chromium driven by chromedriver; quit on exit. ``extra_args``: more
    command-line switches (e.g. the test CA's certificate pinned, for HTTPS)."""
    chrome = need(CHROMIUM, "chromium")
    driver_bin = need(CHROMEDRIVER, "chromium-driver")
    require_module("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--force-device-scale-factor=1", *extra_args):
        opts.add_argument(arg)
    if download_dir is not None:
        opts.add_experimental_option("prefs", {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
        })
    driver = webdriver.Chrome(options=opts, service=Service(driver_bin))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, predicate: Callable[[Any], T], what: str, timeout: float = WAIT) -> T:
    """Poll ``predicate`` until it is truthy. An element found on a page that a click
    then replaced (the directory's Dial goes to the handset page) is stale: that poll
    counts as not yet, the next one looks at the new page."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,)).until(
        predicate, message=f"timed out waiting for {what}")


def submit_settings(driver: Any, *, toggle_dnd: bool = False, forward_all: str | None = None,
                    **numbers: int) -> None:
    """On the open settings page: click DND (when ``toggle_dnd``), type ``forward_all``
    (``""`` clears it) and each ``numbers`` field (``volume_ringer=3``), then Save and
    wait for the page to say so."""
    if toggle_dnd:
        driver.find_element("css selector", "input[name=dnd]").click()
    fields: dict[str, str] = {name: str(v) for name, v in numbers.items()}
    if forward_all is not None:
        fields["forward_all"] = forward_all
    for name, text in fields.items():
        field = driver.find_element("css selector", f"input[name={name}]")
        field.clear()
        if text:
            field.send_keys(text)
    driver.find_element("css selector", "#settings button[type=submit]").click()
    wait_for(driver, lambda d: d.find_element("id", "msg").text == "Saved", "Saved")


def shot(driver: Any, name: str) -> Path:
    """Save a screenshot of the page as <name>.png (docs/web with PIPHONE_WEB_SHOTS=1)."""
    if os.environ.get("PIPHONE_WEB_SHOTS") == "1":
        where = DOCS_SHOTS
    else:
        where = Path(tempfile.gettempdir()) / f"piphone-web-shots-{os.getpid()}"
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot of {name}"
    return path


class PhoneLoop:
    """An asyncio loop in a daemon thread; ``call`` runs a function or coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> PhoneLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        fut: Future[T] = Future()

        def go() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(go)
        return fut.result(timeout)
