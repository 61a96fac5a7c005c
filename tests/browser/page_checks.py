"""Checks every page of the product should pass in Chromium: no sideways scrolling, axe-core without a
single violation, no console error (a CSP refusal is one), and a full-page screenshot kept as an artefact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser_support import ARTIFACTS

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"


def watch_console(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of `page` from now on (CSP refusals are console errors)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations of every impact on the loaded page. Evaluated through the DevTools protocol, so
    the page's CSP (no inline script) does not stop the checker, and nothing is added to the page's DOM."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in result
    ]


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when nothing scrolls sideways)."""
    width: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return width


def screenshot(page: Any, name: str) -> Path:
    folder = ARTIFACTS / "console"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
