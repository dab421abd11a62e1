"""Citizen report photos: accepted by content, limits, metadata removal, thumbnails, storage."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageCms

from metropilot.reports.photos import (
    PhotoLimits,
    ProcessedPhoto,
    SourceFormat,
    detect_format,
    photo_keys,
    process_photo,
    store_photos,
)
from metropilot.reports.storage import FileSystemStorage
from metropilot.shared.errors import InvalidInput, NotFound

pillow_heif.register_heif_opener()

BLUE = (0, 0, 255)
RED = (255, 0, 0)
SMALL = PhotoLimits(stored_longest_side=400, thumbnail_longest_side=100)


def revealing_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: orientation, camera, time and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "CityPhone"
    exif[ExifTags.Base.DateTime] = "2025:03:14 09:26:53"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (47.0, 19.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (5.0, 2.0, 30.0),
    }
    return exif


def marked_image(size: tuple[int, int] = (60, 40), mode: str = "RGB") -> Image.Image:
    """Red, with a blue 10 × 10 block in the top-left corner to tell where the top is."""
    image = Image.new(mode, size, RED)
    image.paste(BLUE, (0, 0, 10, 10))
    return image


def encode(image: Image.Image, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def phone_photo(pillow_format: str, orientation: int = 1) -> bytes:
    return encode(marked_image(), pillow_format, exif=revealing_exif(orientation).tobytes())


def jpeg_markers(data: bytes) -> list[bytes]:
    """The JPEG segment markers up to the start of scan, with APPn identifiers spelled out."""
    assert data[:2] == b"\xff\xd8"
    markers: list[bytes] = []
    offset = 2
    while True:
        marker = data[offset : offset + 2]
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if 0xE0 <= marker[1] <= 0xEF:
            markers.append(marker + data[offset + 4 : offset + 4 + min(length - 2, 12)])
        else:
            markers.append(marker)
        if marker == b"\xff\xda":
            return markers
        offset += 2 + length


def assert_no_metadata(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.format == "JPEG"
        assert len(reopened.getexif()) == 0
        assert not {"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(reopened.info)
    markers = jpeg_markers(data)
    app_segments = [m for m in markers if 0xE0 <= m[1] <= 0xEF]
    # Only the JFIF header (APP0) is left: no Exif/XMP (APP1), ICC (APP2) or Photoshop (APP13).
    assert [m[:2] for m in app_segments] == [b"\xff\xe0"], app_segments
    assert app_segments[0][2:7] == b"JFIF\x00"
    assert b"\xff\xfe" not in markers  # no comment segment
    for telltale in (b"Exif\x00", b"CityPhone", b"2025:03:14", b"ICC_PROFILE", b"ns.adobe.com"):
        assert telltale not in data


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims the given size, with a few bytes of pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def refusal(data: bytes, limits: PhotoLimits = SMALL) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        process_photo(data, limits)
    return caught.value


# --- accepted by content -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pillow_format", "source_format"),
    [
        ("JPEG", SourceFormat.JPEG),
        ("PNG", SourceFormat.PNG),
        ("WEBP", SourceFormat.WEBP),
        ("HEIF", SourceFormat.HEIC),
    ],
)
def test_each_accepted_format_is_recognised_and_stored_as_clean_jpeg(
    pillow_format: str, source_format: SourceFormat
) -> None:
    data = phone_photo(pillow_format)
    # The fixture really carries a position, so its absence below means something.
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)

    photo = process_photo(data, SMALL)

    assert photo.source_format is source_format
    assert photo.content_type == "image/jpeg"
    assert (photo.width, photo.height) == (60, 40)
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    assert_no_metadata(photo.data)
    assert_no_metadata(photo.thumbnail)


@pytest.mark.parametrize("name", ["holiday.jpg", "photo.gif", "document.pdf", "no-extension"])
def test_the_file_name_plays_no_part(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(phone_photo("PNG"))
    assert process_photo(path.read_bytes(), SMALL).source_format is SourceFormat.PNG


def test_a_jpeg_renamed_gif_is_still_a_jpeg_and_a_gif_renamed_jpeg_is_still_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.gif").write_bytes(phone_photo("JPEG"))
    (tmp_path / "b.jpg").write_bytes(encode(marked_image(mode="RGB"), "GIF"))
    assert detect_format((tmp_path / "a.gif").read_bytes()) is SourceFormat.JPEG
    assert refusal((tmp_path / "b.jpg").read_bytes()).code == "photo_unsupported_format"


# --- orientation, colour, transparency ------------------------------------------------------


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_exif_orientation_is_applied_to_the_pixels(pillow_format: str) -> None:
    # Orientation 6: the camera was turned a quarter clockwise; the viewer rotates it back.
    photo = process_photo(phone_photo(pillow_format, orientation=6), SMALL)

    assert (photo.width, photo.height) == (40, 60)
    with Image.open(io.BytesIO(photo.data)) as upright:
        assert upright.size == (40, 60)
        top_right = upright.convert("RGB").getpixel((35, 4))
        top_left = upright.convert("RGB").getpixel((4, 4))
    assert isinstance(top_right, tuple)
    assert isinstance(top_left, tuple)
    # The blue corner went to the top right; the top left is red.
    assert (top_right[0] < 60, top_right[2] > 200) == (True, True)
    assert (top_left[0] > 200, top_left[2] < 60) == (True, True)
    with Image.open(io.BytesIO(photo.thumbnail)) as thumbnail:
        assert thumbnail.size == (40, 60)


def test_icc_profile_xmp_and_comment_are_removed_too() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(
        marked_image(),
        "JPEG",
        exif=revealing_exif().tobytes(),
        icc_profile=srgb,
        comment=b"CityPhone owner: J. Doe",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/x"/>'
        b"</x:xmpmeta>",
    )
    with Image.open(io.BytesIO(data)) as original:
        assert {"icc_profile", "comment", "xmp"} <= set(original.info)

    assert_no_metadata(process_photo(data, SMALL).data)


def test_a_broken_icc_profile_does_not_refuse_the_photo() -> None:
    data = encode(marked_image(), "JPEG", icc_profile=b"not a profile at all")
    photo = process_photo(data, SMALL)
    assert_no_metadata(photo.data)


def test_transparency_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 10, 20))
    photo = process_photo(encode(image, "PNG"), SMALL)
    with Image.open(io.BytesIO(photo.data)) as flattened:
        assert flattened.mode == "RGB"
        transparent_side = flattened.getpixel((15, 10))
    assert isinstance(transparent_side, tuple)
    assert min(transparent_side) > 240


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    image = Image.new("I;16", (8, 8), 32768)  # half of full scale
    photo = process_photo(encode(image, "PNG"), SMALL)
    with Image.open(io.BytesIO(photo.data)) as grey:
        pixel = grey.convert("L").getpixel((4, 4))
    assert isinstance(pixel, int)
    assert 120 <= pixel <= 136


def test_large_photo_is_scaled_down_and_gets_a_thumbnail() -> None:
    photo = process_photo(encode(marked_image((1000, 500)), "JPEG"), SMALL)
    assert (photo.width, photo.height) == (400, 200)
    assert (photo.thumbnail_width, photo.thumbnail_height) == (100, 50)
    with Image.open(io.BytesIO(photo.thumbnail)) as thumbnail:
        assert thumbnail.size == (100, 50)


def test_small_photo_is_not_enlarged() -> None:
    photo = process_photo(phone_photo("PNG"), PhotoLimits(thumbnail_longest_side=320))
    assert (photo.width, photo.height) == (60, 40)
    assert (photo.thumbnail_width, photo.thumbnail_height) == (60, 40)


# --- refusals -------------------------------------------------------------------------------


def test_oversized_photo_is_refused_before_it_is_parsed() -> None:
    limits = PhotoLimits(max_bytes=1000)
    # Not even an image: the size is checked first, so the answer is about the size.
    error = refusal(b"\x00" * 1001, limits)
    assert error.code == "photo_too_large"
    assert error.message == "the photo is 1,001 bytes; the limit is 1,000 bytes"
    big = refusal(b"\xff\xd8\xff" + b"\x00" * 12_000_000, PhotoLimits())
    assert big.code == "photo_too_large"
    assert big.message == "the photo is 12.0 MB; the limit is 10.0 MB"
    just_over = refusal(b"\x00" * 10_000_001, PhotoLimits())
    assert just_over.message == "the photo is 10,000,001 bytes; the limit is 10,000,000 bytes"


def test_a_crafted_header_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    error = refusal(png_header_only(8000, 6000), PhotoLimits())
    assert error.code == "photo_too_many_pixels"
    assert error.message == "the photo has 8000 × 6000 pixels; the limit is 40 megapixels"


def test_an_image_bomb_beyond_the_decoder_guard_is_refused() -> None:
    error = refusal(png_header_only(50_000, 50_000), PhotoLimits())
    assert error.code == "photo_too_many_pixels"
    assert error.message == "the photo has more than 178,956,970 pixels; the limit is 40 megapixels"


def test_a_real_image_above_the_pixel_limit_is_refused() -> None:
    error = refusal(phone_photo("JPEG"), PhotoLimits(max_pixels=2000, thumbnail_longest_side=10))
    assert error.code == "photo_too_many_pixels"
    assert error.message == "the photo has 60 × 40 pixels; the limit is 0.002 megapixels"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b"Hello, this is a pothole on rue Jean Jaures.",
        b"BM but not a bitmap",
        b"",
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",  # an MP4 video
    ],
    ids=["pdf", "svg", "text", "text-starting-BM", "empty", "mp4"],
)
def test_not_an_image_is_refused(data: bytes) -> None:
    error = refusal(data)
    assert error.code == "photo_not_an_image"
    assert error.message in {
        "the file is not an image: its content is none of JPEG, PNG, WebP or HEIC",
        "the photo is empty",
    }


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (encode(marked_image(), "GIF"), "GIF"),
        (encode(marked_image(), "TIFF"), "TIFF"),
        (encode(marked_image(), "BMP"), "BMP"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 32, "AVIF"),
    ],
    ids=["gif", "tiff", "bmp", "avif"],
)
def test_other_image_formats_are_refused_by_name(data: bytes, named: str) -> None:
    error = refusal(data)
    assert error.code == "photo_unsupported_format"
    assert error.message == f"{named} images are not accepted; send a JPEG, PNG, WebP or HEIC photo"


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_a_truncated_image_is_refused_as_unreadable(pillow_format: str) -> None:
    data = encode(Image.effect_noise((64, 64), 64).convert("RGB"), pillow_format)
    error = refusal(data[: len(data) // 2])
    assert error.code == "photo_unreadable"
    assert "could not be decoded: the file is damaged or incomplete" in error.message


def test_limits_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValueError, match="max_per_report must be at least 1"):
        PhotoLimits(max_per_report=0)
    with pytest.raises(ValueError, match="stored_longest_side must not be below"):
        PhotoLimits(stored_longest_side=100, thumbnail_longest_side=200)
    with pytest.raises(ValueError, match="MAX_IMAGE_PIXELS"):
        PhotoLimits(max_pixels=10**9)
    with pytest.raises(ValueError, match="stored_quality must be between 1 and 95"):
        PhotoLimits(stored_quality=100)


# --- storing a report's photos ---------------------------------------------------------------


def stored_files(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_photos_are_stored_with_thumbnails_under_the_report(tmp_path: Path) -> None:
    storage = FileSystemStorage(tmp_path / "photos")
    photos = [phone_photo("JPEG", orientation=6), phone_photo("HEIF")]

    stored = store_photos(storage, "r-7f3a", photos, SMALL)

    assert [(s.number, s.key, s.thumbnail_key) for s in stored] == [
        (1, "reports/r-7f3a/1.jpg", "reports/r-7f3a/1.thumb.jpg"),
        (2, "reports/r-7f3a/2.jpg", "reports/r-7f3a/2.thumb.jpg"),
    ]
    assert [(s.width, s.height) for s in stored] == [(40, 60), (60, 40)]
    for photo in stored:
        data = storage.get(photo.key)
        assert hashlib.sha256(data).hexdigest() == photo.sha256
        assert len(data) == photo.size_bytes
        assert_no_metadata(data)
        assert_no_metadata(storage.get(photo.thumbnail_key))
    assert stored_files(tmp_path / "photos") == [
        "reports/r-7f3a/1.jpg",
        "reports/r-7f3a/1.thumb.jpg",
        "reports/r-7f3a/2.jpg",
        "reports/r-7f3a/2.thumb.jpg",
    ]


def test_more_than_five_photos_are_refused_and_none_stored(tmp_path: Path) -> None:
    storage = FileSystemStorage(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        store_photos(storage, "r1", [phone_photo("PNG")] * 6, SMALL)
    assert caught.value.code == "too_many_photos"
    assert caught.value.message == "a report may have at most 5 photos; this one would have 6"
    assert stored_files(tmp_path) == []


def test_photos_already_stored_count_towards_the_limit_and_the_numbering(tmp_path: Path) -> None:
    storage = FileSystemStorage(tmp_path)
    with pytest.raises(InvalidInput, match=r"would have 6 \(4 already stored\)") as caught:
        store_photos(storage, "r1", [phone_photo("PNG")] * 2, SMALL, already_stored=4)
    assert caught.value.code == "too_many_photos"

    [fifth] = store_photos(storage, "r1", [phone_photo("PNG")], SMALL, already_stored=4)
    assert fifth.key == "reports/r1/5.jpg"


def test_one_bad_photo_means_none_is_stored(tmp_path: Path) -> None:
    storage = FileSystemStorage(tmp_path)
    photos = [phone_photo("JPEG"), b"%PDF-1.4 not a photo", phone_photo("PNG")]

    with pytest.raises(InvalidInput) as caught:
        store_photos(storage, "r1", photos, SMALL)

    assert caught.value.code == "photo_not_an_image"
    assert caught.value.details == [
        {
            "loc": "photos[1]",
            "message": "the file is not an image: its content is none of JPEG, PNG, WebP or HEIC",
            "code": "photo_not_an_image",
        }
    ]
    assert caught.value.message.startswith("1 of 3 photos refused, none stored: photos[1]: ")
    assert stored_files(tmp_path) == []


def test_every_bad_photo_is_reported_and_mixed_reasons_get_a_common_code(tmp_path: Path) -> None:
    storage = FileSystemStorage(tmp_path)
    photos = [encode(marked_image(), "GIF"), phone_photo("PNG"), b"plain text"]
    with pytest.raises(InvalidInput) as caught:
        store_photos(storage, "r1", photos, SMALL)
    assert caught.value.code == "photos_refused"
    assert [(p["loc"], p["code"]) for p in caught.value.details] == [
        ("photos[0]", "photo_unsupported_format"),
        ("photos[2]", "photo_not_an_image"),
    ]
    assert stored_files(tmp_path) == []


class FailingStorage(FileSystemStorage):
    """Fails on the n-th write, as a full disk would."""

    def __init__(self, root: Path, fail_on_put: int) -> None:
        super().__init__(root)
        self.puts = 0
        self.fail_on_put = fail_on_put

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.puts += 1
        if self.puts == self.fail_on_put:
            raise OSError(28, "No space left on device")
        super().put(key, data, content_type)


def test_a_write_failing_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    storage = FailingStorage(tmp_path, fail_on_put=4)
    with pytest.raises(OSError, match="No space left"):
        store_photos(storage, "r1", [phone_photo("PNG")] * 3, SMALL)
    assert stored_files(tmp_path) == []


@pytest.mark.parametrize("report_key", ["", "a/b", "../x", "R1", "r.1"])
def test_report_key_must_be_one_plain_segment(tmp_path: Path, report_key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        store_photos(FileSystemStorage(tmp_path), report_key, [phone_photo("PNG")], SMALL)
    assert caught.value.code == "invalid_storage_key"


def test_photo_keys() -> None:
    assert photo_keys("abc", 3) == ("reports/abc/3.jpg", "reports/abc/3.thumb.jpg")


def test_processed_photo_is_immutable() -> None:
    photo = process_photo(phone_photo("PNG"), SMALL)
    assert isinstance(photo, ProcessedPhoto)
    with pytest.raises(AttributeError):
        photo.width = 1  # type: ignore[misc]


# --- file-system storage --------------------------------------------------------------------


def test_storage_round_trip_and_owner_only_permissions(tmp_path: Path) -> None:
    root = tmp_path / "data" / "photos"
    storage = FileSystemStorage(root)
    assert not storage.exists("reports/r1/1.jpg")

    storage.put("reports/r1/1.jpg", b"first", "image/jpeg")
    storage.put("reports/r1/1.jpg", b"second", "image/jpeg")

    assert storage.exists("reports/r1/1.jpg")
    assert storage.get("reports/r1/1.jpg") == b"second"
    assert stat.S_IMODE((root / "reports/r1/1.jpg").stat().st_mode) == 0o600
    for directory in (root, root / "reports", root / "reports/r1"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stored_files(root) == ["reports/r1/1.jpg"]  # no temporary file left

    storage.delete("reports/r1/1.jpg")
    storage.delete("reports/r1/1.jpg")  # deleting twice is harmless
    assert not storage.exists("reports/r1/1.jpg")
    with pytest.raises(NotFound) as caught:
        storage.get("reports/r1/1.jpg")
    assert caught.value.code == "stored_object_not_found"


@pytest.mark.parametrize(
    "key",
    [
        "../outside.jpg",
        "reports/../../outside.jpg",
        "/etc/passwd",
        "reports//1.jpg",
        "reports/1.jpg/",
        "reports/.hidden",
        "reports/.tmp-abc",
        "./1.jpg",
        "Reports/1.jpg",
        "reports\\1.jpg",
        "reports/1 .jpg",
        "reports/1.jpg\x00",
        "",
        "a" * 513,
    ],
)
def test_keys_that_could_escape_or_collide_are_refused(tmp_path: Path, key: str) -> None:
    storage = FileSystemStorage(tmp_path / "root")
    for attempt in (
        lambda: storage.put(key, b"x", "image/jpeg"),
        lambda: storage.get(key),
        lambda: storage.delete(key),
        lambda: storage.exists(key),
    ):
        with pytest.raises(InvalidInput) as caught:
            attempt()
        assert caught.value.code == "invalid_storage_key"
    assert list(tmp_path.rglob("*")) == []


def test_a_symbolic_link_out_of_the_root_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "reports").symlink_to(outside)
    storage = FileSystemStorage(root)
    with pytest.raises(InvalidInput, match="leads outside the storage root"):
        storage.put("reports/1.jpg", b"x", "image/jpeg")
    assert list(outside.iterdir()) == []


def test_a_failed_write_keeps_the_previous_content_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = FileSystemStorage(tmp_path)
    storage.put("reports/r1/1.jpg", b"previous", "image/jpeg")

    def failing_fsync(descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        storage.put("reports/r1/1.jpg", b"replacement", "image/jpeg")
    monkeypatch.undo()

    assert storage.get("reports/r1/1.jpg") == b"previous"
    assert stored_files(tmp_path) == ["reports/r1/1.jpg"]
