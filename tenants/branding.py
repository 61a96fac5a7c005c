"""Branding rules: colour contrast, image checks, the sanitised welcome text and Jitsi's branding document."""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import markdown
import nh3
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile, File
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from tenants import hotcache
from tenants.models import Branding, JitsiDeployment, Tenant

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
# Re-encoding options per format: lossless stays lossless, photos keep a good quality.
SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "PNG": {},
    "JPEG": {"quality": 88, "optimize": True},
    "WEBP": {"quality": 90, "method": 4},
}
# What /media/ may answer, by the extension prepare_image gave the file; anything else is a 404.
# Formats we recognise only to say that they are not accepted (GIF, BMP, TIFF).
OTHER_IMAGE_SIGNATURES = (b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
WELCOME_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "h2", "h3", "blockquote", "code"}
CACHE_SECONDS = 300

# The keys of Jitsi's branding document that auditorium fills (CONTRACTS §3); Jitsi ignores all others.
JITSI_KEYS = ("backgroundColor", "backgroundImageUrl", "logoImageUrl", "logoClickUrl", "supportUrl")


class ImageRefused(ValueError):
    """An upload that is not an acceptable image; the message is for the person who uploaded it."""


def _luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_warnings(*, primary: str, background: str) -> list[str]:
    """Warnings (not errors) where text would fall below WCAG AA (4.5:1) on the chosen colours."""
    warnings = []
    if contrast_ratio(primary, "#ffffff") < 4.5:
        warnings.append(
            _("White text on the primary colour has a contrast of %(ratio).1f:1, below WCAG AA (4.5:1).")
            % {"ratio": contrast_ratio(primary, "#ffffff")}
        )
    if contrast_ratio("#1b1f24", background) < 4.5:
        warnings.append(
            _("Dark text on the background colour has a contrast of %(ratio).1f:1, below WCAG AA (4.5:1).")
            % {"ratio": contrast_ratio("#1b1f24", background)}
        )
    return warnings


class PreparedImage(ContentFile):
    """An upload re-encoded by prepare_image: pixels only, named by its detected format."""

    def __init__(self, content: bytes, *, extension: str) -> None:
        # The name only carries the extension to branding_upload_path, which picks the stored name.
        super().__init__(content, name=f"image.{extension}")
        self.extension = extension


def _refuse_svg(head: bytes, name: str) -> None:
    # SVG is XML text: it can carry script, so it is named for what it is rather than "not an image".
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head.lower() or text.startswith(b"<?xml") or name.lower().endswith((".svg", ".svgz")):
        raise ImageRefused(
            _("SVG images are not accepted, because they can carry scripts. Upload PNG, JPEG or WebP.")
        )


def _decode(data: bytes) -> tuple[Image.Image, str]:
    """Open with the PNG, JPEG and WebP decoders only; the size is checked before any pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit (far above ours); the warning is an exception only where warnings are errors.
        raise ImageRefused(_("The image is larger than 4096 by 4096 pixels.")) from exc
    except Exception as exc:
        if data.startswith(OTHER_IMAGE_SIGNATURES) or data[4:12] in (b"ftypavif", b"ftypheic"):
            raise ImageRefused(_("Only PNG, JPEG and WebP images are accepted.")) from exc
        raise ImageRefused(_("This file is not an image we can read. Upload PNG, JPEG or WebP.")) from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise ImageRefused(_("The image is larger than 4096 by 4096 pixels."))
    return image, str(image.format)


def _pixels_only(image: Image.Image) -> Image.Image:
    """The first frame, upright, as RGB or RGBA, with no metadata (EXIF, ICC, XMP, text chunks, comments)."""
    image.seek(0)  # animated PNG and WebP: the first frame is the logo (Jitsi shows still images)
    upright = ImageOps.exif_transpose(image)  # photos keep their orientation once EXIF is gone
    has_alpha = upright.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in upright.info
    clean = upright.convert("RGBA" if has_alpha else "RGB")
    clean.info = {}
    return clean


def prepare_image(upload: File) -> PreparedImage:
    """Check an uploaded image and re-encode it: the one gate for every branding image (console and API).

    Only PNG, JPEG and WebP up to 2 MB and 4096x4096 pixels; SVG and all else are refused with a message.
    The stored bytes are Pillow's own encoding of the decoded pixels, so bytes appended to the file
    (a script after the PNG's end) and metadata never reach storage; the extension comes from the
    detected format, never from the client's file name."""
    if upload.size is not None and upload.size > MAX_IMAGE_BYTES:
        raise ImageRefused(_("The image is larger than 2 MB."))
    upload.seek(0)
    data = upload.read(MAX_IMAGE_BYTES + 1)
    upload.seek(0)
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(_("The image is larger than 2 MB."))
    _refuse_svg(data[:1024], upload.name or "")
    image, image_format = _decode(data)
    try:
        clean = _pixels_only(image)
        if image_format == "JPEG" and clean.mode == "RGBA":
            clean = clean.convert("RGB")
        buffer = io.BytesIO()
        clean.save(buffer, image_format, **SAVE_OPTIONS[image_format])
    except Exception as exc:
        raise ImageRefused(_("This file is not an image we can read. Upload PNG, JPEG or WebP.")) from exc
    finally:
        image.close()
    return PreparedImage(buffer.getvalue(), extension=IMAGE_FORMATS[image_format])


def render_welcome(text: str) -> str:
    """Limited Markdown to HTML with every tag and attribute outside a small allow-list removed."""
    html = markdown.markdown(text, output_format="html")
    return nh3.clean(
        html,
        tags=WELCOME_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else f"{settings.PUBLIC_URL}{url}"


def jitsi_document(tenant: Tenant, branding: Branding | None) -> dict[str, Any]:
    """The branding document for Jitsi's web client: only keys it reads, only absolute URLs."""
    document: dict[str, Any] = {"logoClickUrl": absolute(f"/{tenant.slug}/")}
    if branding is None:
        return document
    document["backgroundColor"] = branding.background_colour
    if branding.background_image:
        document["backgroundImageUrl"] = absolute(branding.background_image.url)
    if branding.logo:
        document["logoImageUrl"] = absolute(branding.logo.url)
    if branding.support_url:
        document["supportUrl"] = branding.support_url
    return document


@dataclass(frozen=True)
class Served:
    body: bytes
    etag: str
    origin: str


def _cache_key(deployment_slug: str) -> str:
    return f"branding-doc:{hotcache.bounded(deployment_slug)}"


def served_document(deployment_slug: str) -> Served | None:
    """The branding document as served, from the cache; the database is read once per change, not per join."""
    served: Served | None = cache.get(_cache_key(deployment_slug))
    if served is not None:
        return served
    deployment = (
        JitsiDeployment.objects.select_related("tenant", "tenant__branding")
        .filter(slug=deployment_slug, tenant__is_active=True)
        .first()
    )
    if deployment is None:
        return None
    tenant = deployment.tenant
    branding = getattr(tenant, "branding", None)
    body = json.dumps(jitsi_document(tenant, branding), sort_keys=True).encode()
    served = Served(
        body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"', origin=origin_of(deployment.base_url)
    )
    cache.set(_cache_key(deployment_slug), served, CACHE_SECONDS)
    return served


def forget_document(tenant: Tenant) -> None:
    deployment = JitsiDeployment.objects.filter(tenant=tenant).values_list("slug", flat=True).first()
    if deployment:
        cache.delete(_cache_key(deployment))
    cache.delete(f"branding:{tenant.pk}")
    cache.delete(f"branding-language:{tenant.pk}")  # tenants/language.py


def origin_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def branding_for_pages(tenant: Tenant) -> dict[str, Any] | None:
    """What templates need to brand a page, cached per tenant (every portal page of the tenant asks)."""
    key = f"branding:{tenant.pk}"
    found = cache.get(key)
    if found is not None:
        return found or None
    branding = Branding.objects.filter(tenant=tenant).first()
    value: dict[str, Any] = {}
    if branding is not None:
        value = {
            "primary": branding.primary_colour,
            "background": branding.background_colour,
            "logo_url": branding.logo.url if branding.logo else "",
            "background_url": branding.background_image.url if branding.background_image else "",
            "welcome_html": render_welcome(branding.welcome_text),
            "support_url": branding.support_url,
            "version": branding.version,
        }
    cache.set(key, value, CACHE_SECONDS)
    return value or None


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_CSS_URL = re.compile(r"[A-Za-z0-9/._~:-]+")


TEXT_DARK = "#1b1f24"  # the stylesheet's text colour (static/css/site.css --text)
AA = 4.5


def _mix(colour: str, other: str, weight: float) -> str:
    """`colour` moved towards `other` by `weight` (0 to 1), per channel in sRGB."""
    a = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * weight):02x}" for x, y in zip(a, b, strict=True))


def readable_on(colour: str) -> str:
    """White or dark text, whichever reads better on `colour` (one of them always reaches 4.5:1)."""
    white, dark = contrast_ratio(colour, "#ffffff"), contrast_ratio(colour, TEXT_DARK)
    if max(white, dark) < AA:
        return "#000000"
    return "#ffffff" if white >= dark else TEXT_DARK


def shade_for(colour: str, on: str, ratio: float = AA) -> str:
    """`colour` darkened (or lightened, on dark grounds) just enough to reach `ratio` against `on`."""
    target = "#000000" if _luminance(on) > 0.18 else "#ffffff"
    for step in range(21):
        candidate = _mix(colour, target, step / 20)
        if contrast_ratio(candidate, on) >= ratio:
            return candidate
    return target


def colour_tokens(*, primary: str, background: str) -> dict[str, str]:
    """The stylesheet's colour tokens from an institution's two colours. Every text/ground pair the
    stylesheet uses reaches WCAG AA whatever colours the console accepted: buttons take white or dark text,
    links and the focus ring take the primary shaded for white cards, text on the page ground turns light
    on a dark background."""
    on_background = readable_on(background)
    return {
        "primary": primary,
        "on-primary": readable_on(primary),
        "link": shade_for(primary, "#ffffff"),
        "background": background,
        "on-background": on_background,
        # Secondary text on the ground: as far towards the ground as AA allows, for a quieter look.
        "muted-on-background": next(
            (
                _mix(on_background, background, w / 100)
                for w in range(35, -1, -5)
                if contrast_ratio(_mix(on_background, background, w / 100), background) >= AA
            ),
            on_background,
        ),
    }


def branding_stylesheet(branding: dict[str, Any] | None) -> str:
    """The tenant's colours (and background image) as CSS custom properties, for /<tenant>/branding.css:
    a stylesheet rather than an inline <style>, which the Content-Security-Policy forbids. Values that are
    not plainly a colour or a URL path are left out, whatever the database holds."""
    if not branding:
        return ""
    primary, background = str(branding.get("primary", "")), str(branding.get("background", ""))
    primary = primary.lower() if _COLOUR.fullmatch(primary) else "#1f5fa8"
    background = background.lower() if _COLOUR.fullmatch(background) else "#f6f7f9"
    tokens = colour_tokens(primary=primary, background=background)
    css = ":root { " + " ".join(f"--{name}: {value};" for name, value in tokens.items()) + " }\n"
    background_url = str(branding.get("background_url", ""))
    if background_url and _CSS_URL.fullmatch(background_url):
        css += f'body {{ background-image: url("{background_url}"); background-size: cover; }}\n'
        # Text cannot be made readable on any picture: the page's content gets a light ground of its own.
        css += (
            ":root { --on-background: #1b1f24; --muted-on-background: #4a525c; }\n"
            ".content { background: rgb(255 255 255 / 94%); border-radius: var(--radius); }\n"
        )
    return css
