"""The console in a real browser: Playwright drives Debian's Chromium (deploy/setup/chromium.sh;
Playwright's own browser download cannot work here), headless, against the real stack, started
once per session as for the integration tests (tests/integration/conftest.py, whose fixtures
are reused) and stopped at the end.

Screenshots of the main views go to $CONSOLE_SCREENSHOTS (`docs/console` refreshes the README's),
by default .run/browser/."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from apps.gateway.devtoken import issue
from apps.gateway.tokens import Role
from deploy.stack.paths import ROOT
from tests.integration.conftest import (  # noqa: F401 (fixtures)
    ADMIN,
    GATEWAY,
    anonymous,
    api,
    as_customer,
    stack,
    unique,
)
from tests.integration.helpers import TOKEN_LIFETIME

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CONSOLE = GATEWAY.removesuffix("/api/v1") + "/console"
WAIT_MS = 30_000  # for a saga to end, a page to refresh


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run `bash deploy/setup/chromium.sh` "
            "(apt-get install chromium), or set CHROMIUM",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox cannot start as root (the CI machine's user).
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, stack: None) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors in the console: {errors}"


def token(subject: str, role: Role) -> str:
    return issue(subject, role, TOKEN_LIFETIME)


@pytest.fixture
def sign_in(page: Page) -> Callable[[str, Role], Page]:
    """Opens the console and signs in with a token for `subject`, as a person would paste it."""

    def signed_in(subject: str = ADMIN, role: Role = Role.ADMIN) -> Page:
        page.goto(CONSOLE)
        page.fill("#token", token(subject, role))
        page.click("#signin button[type=submit]")
        expect(page.locator("#signed-in")).to_have_text(f"{subject} ({role.value})")
        return page

    return signed_in


@pytest.fixture(scope="session")
def shots() -> Callable[[Page, str], None]:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or ROOT / ".run" / "browser")
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shot
