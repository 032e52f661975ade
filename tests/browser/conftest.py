"""A headless Chromium for the browser tests; missing Chromium fails them (never skips)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from tests.conftest import REPO_ROOT
from tests.support.browser import chromium, chromium_path

# Screenshots of every page opened, kept after the run (gitignored).
SCREENSHOTS = REPO_ROOT / "tests" / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    path = chromium_path()
    if not path.is_file():
        pytest.fail(
            f"the browser tests need Chromium at {path}: `make test` installs Debian's "
            "chromium (apt-get install chromium), or set ALCHEMISER_CHROMIUM"
        )
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
