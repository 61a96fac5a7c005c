"""Branding uploads cannot plant script: the stored file is Pillow's re-encoding named by the detected format,
/media/ answers only accepted images (with their type and nosniff), and superseded files are deleted."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tenants import services
from tenants.branding import ImageRefused, prepare_image
from tenants.models import Branding

pytestmark = pytest.mark.django_db

VALID = {
    "primary_colour": "#1f5fa8",
    "background_colour": "#f6f7f9",
    "welcome_text": "",
    "support_url": "",
    "default_language": "en",
}
SCRIPT = b"<html><script>alert(document.domain)</script></html>"
PNG_END = b"IEND\xaeB`\x82"


def encoded(fmt: str = "PNG", size=(40, 20), mode: str = "RGB", **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red" if mode != "P" else 1).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def upload(admin_client, **files):
    response = admin_client.post("/uzh/manage/branding/", {**VALID, **files})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Branding.objects.get()


@pytest.mark.parametrize("name", ["logo.html", "x.js", "logo.svg.png", "noextension"])
def test_polyglot_png_with_script_is_stored_as_a_clean_png(admin_client, client, media, name):
    polyglot = encoded() + SCRIPT
    branding = upload(admin_client, logo=SimpleUploadedFile(name, polyglot, content_type="text/html"))
    stored = Path(media, branding.logo.name)
    assert stored.suffix == ".png" and stored.parent == Path(media, "branding", "uzh")
    data = stored.read_bytes()
    assert data.endswith(PNG_END) and b"<script" not in data
    assert list(media.rglob("*.html")) == [] and list(media.rglob("*.js")) == []

    served = client.get(branding.logo.url)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == data
    served.close()


def test_jpeg_and_webp_keep_their_format_and_lose_their_metadata(admin_client, media):
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x8825] = {2: (47.0, 22.0, 0.0)}  # GPS latitude
    jpeg = encoded("JPEG", exif=exif.tobytes(), comment=b"secret comment", icc_profile=b"\0" * 128)
    webp = encoded("WEBP", exif=exif.tobytes())
    assert b"Camera maker" in jpeg and b"Camera maker" in webp
    branding = upload(
        admin_client,
        logo=SimpleUploadedFile("photo.jpeg", jpeg),
        background_image=SimpleUploadedFile("bg.png", webp),
    )
    assert branding.logo.name.endswith(".jpg") and branding.background_image.name.endswith(".webp")
    for field in (branding.logo, branding.background_image):
        data = Path(media, field.name).read_bytes()
        assert b"Camera maker" not in data and b"secret comment" not in data
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif() and "icc_profile" not in image.info


def test_png_text_chunks_are_dropped_and_transparency_kept():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    paletted = Image.new("P", (16, 16), 0)
    paletted.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    buffer = io.BytesIO()
    paletted.save(buffer, "PNG", pnginfo=info, transparency=0)
    prepared = prepare_image(SimpleUploadedFile("p.png", buffer.getvalue()))
    data = prepared.read()
    assert b"<script" not in data and b"tEXt" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_animated_images_keep_their_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    data = prepare_image(SimpleUploadedFile("a.png", buffer.getvalue())).read()
    with Image.open(io.BytesIO(data)) as image:
        assert getattr(image, "n_frames", 1) == 1 and image.getpixel((0, 0)) == (255, 0, 0)


def _png_header_claiming(width: int, height: int) -> bytes:
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + len(ihdr).to_bytes(4, "big")
        + chunk
        + zlib.crc32(chunk).to_bytes(4, "big")
        + (len(idat) - 4).to_bytes(4, "big")
        + idat
        + zlib.crc32(idat).to_bytes(4, "big")
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_png_header_claiming(100_000, 100_000), "larger than 4096 by 4096"),  # a decompression bomb
        (_png_header_claiming(5000, 4000), "larger than 4096 by 4096"),
        (encoded()[:60], "not an image we can read"),  # truncated pixel data
        (encoded("GIF"), "Only PNG, JPEG and WebP"),
        (b"<?xml version='1.0'?><svg/>", "SVG images are not accepted"),
    ],
)
def test_refusals_say_why(content, message):
    with pytest.raises(ImageRefused, match=message):
        prepare_image(SimpleUploadedFile("x.png", content))


def test_replacing_and_removing_delete_the_old_file(admin_client, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(admin_client, logo=SimpleUploadedFile("a.png", encoded()))
    old = Path(media, first.logo.name)
    assert old.exists()
    with django_capture_on_commit_callbacks(execute=True):
        second = upload(admin_client, logo=SimpleUploadedFile("b.png", encoded(size=(30, 30))))
    assert not old.exists() and Path(media, second.logo.name).exists()
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, remove_logo="on")
    assert Branding.objects.get().logo.name == ""
    assert list(Path(media, "branding").rglob("*.*")) == []


def test_the_service_re_encodes_whatever_file_a_caller_hands_it(tenant, admin_user, media):
    # The API and the console both reach storage only through change_branding: a caller that skips the
    # form still cannot store the client's bytes or name.
    branding = services.change_branding(
        actor=admin_user,
        tenant=tenant,
        changes={"logo": SimpleUploadedFile("x.js", encoded() + SCRIPT)},
    )
    data = Path(media, branding.logo.name).read_bytes()
    assert branding.logo.name.endswith(".png") and data.endswith(PNG_END)
    with pytest.raises(ImageRefused):
        services.change_branding(
            actor=admin_user, tenant=tenant, changes={"logo": SimpleUploadedFile("x.png", SCRIPT)}
        )
    # A stored name would point the tenant at any file under MEDIA_ROOT (and later delete it).
    with pytest.raises(ValueError, match="uploaded file"):
        services.change_branding(actor=admin_user, tenant=tenant, changes={"logo": "branding/other/x.png"})


def test_the_api_never_stores_an_uploaded_file(tenant, admin_user, media):
    from tests.api_support import bearer_client, token_for

    api = bearer_client(token_for(admin_user, tenant))
    polyglot = SimpleUploadedFile("logo.html", encoded() + SCRIPT, content_type="text/html")
    response = api.patch("/api/v1/branding/", {"logo": polyglot, "welcome_text": "Hi"}, format="multipart")
    assert response.status_code == 200, response.content
    assert Branding.objects.get().logo.name == ""
    assert [p for p in media.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("branding/uzh/old.html", SCRIPT),  # stored by older code under the client's extension
        ("branding/uzh/old.js", b"alert(1)"),
        ("branding/uzh/old.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
        ("branding/uzh/fake.png", SCRIPT),  # an image extension on something that is not that image
        ("branding/uzh/fake.jpg", encoded()),
    ],
)
def test_media_answers_404_for_anything_but_an_accepted_image(client, media, name, content):
    path = Path(media, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    response = client.get(f"/media/{name}")
    assert response.status_code == 404
    assert b"<script" not in response.content


@pytest.mark.parametrize(
    "path", ["/media/../../etc/passwd.png", "/media/branding/%00.png", "/media/branding/"]
)
def test_media_refuses_odd_paths(client, path):
    assert client.get(path).status_code == 404


def test_old_polyglot_png_is_served_only_as_an_inert_image(client, media):
    path = Path(media, "branding/uzh/old.png")
    path.parent.mkdir(parents=True)
    path.write_bytes(encoded() + SCRIPT)
    response = client.get("/media/branding/uzh/old.png")
    assert response.status_code == 200
    assert (response["Content-Type"], response["X-Content-Type-Options"]) == ("image/png", "nosniff")
    response.close()
