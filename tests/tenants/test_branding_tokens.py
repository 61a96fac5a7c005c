"""The colour tokens of branding.css keep WCAG AA with every colour the console accepts."""

from __future__ import annotations

import itertools

from tenants.branding import branding_stylesheet, colour_tokens, contrast_ratio

# Every 4th step per channel (17^3 = 4913 colours) covers light, dark, saturated and grey.
STEPS = [f"{v:02x}" for v in range(0, 256, 16)] + ["ff"]
COLOURS = ["#" + "".join(c) for c in itertools.product(STEPS, repeat=3)]


def test_every_primary_gives_readable_buttons_and_links():
    for primary in COLOURS:
        tokens = colour_tokens(primary=primary, background="#f6f7f9")
        assert contrast_ratio(tokens["on-primary"], primary) >= 4.5, primary
        assert contrast_ratio(tokens["link"], "#ffffff") >= 4.5, primary


def test_every_background_gives_readable_text_on_it():
    for background in COLOURS:
        tokens = colour_tokens(primary="#1f5fa8", background=background)
        assert contrast_ratio(tokens["on-background"], background) >= 4.5, background
        assert contrast_ratio(tokens["muted-on-background"], background) >= 4.5, background


def test_stylesheet_carries_the_tokens_and_refuses_anything_else():
    css = branding_stylesheet({"primary": "#ffeb3b", "background": "#202020"})
    assert "--primary: #ffeb3b;" in css and "--on-primary: #1b1f24;" in css
    assert "--on-background: #ffffff;" in css
    hostile = branding_stylesheet({"primary": "red; } body { x", "background": "#fff"})
    assert "red" not in hostile and "--primary: #1f5fa8;" in hostile
