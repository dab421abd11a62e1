"""Citizen report photos: recognised by content, held to limits, stripped of metadata, stored.

A photo is accepted when its bytes are a JPEG, PNG, WebP or HEIC/HEIF image; the file name and
the declared content type are never trusted. Limits are checked in order of cost: the byte size
before anything is parsed, the pixel count from the header before any pixel is decoded (so an
image bomb is refused before it costs memory).

What is kept is a re-encoding, never the upload: the EXIF orientation is applied to the pixels,
colours are converted to sRGB when the photo carries an ICC profile, transparency is flattened
onto white, and the result is written as a baseline JPEG (plus a thumbnail) with no metadata at
all — no EXIF (so no GPS position, camera serial or time), no XMP, no comment, no ICC profile
(sRGB is what every viewer assumes without one). One output format keeps keys, content types and
viewers simple; citizens' photos of potholes do not need an alpha channel.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from metropilot.reports.storage import PhotoStorage, check_key
from metropilot.shared.errors import InvalidInput, Problem

__all__ = [
    "DEFAULT_PHOTO_LIMITS",
    "OUTPUT_CONTENT_TYPE",
    "PhotoLimits",
    "ProcessedPhoto",
    "SourceFormat",
    "StoredPhoto",
    "detect_format",
    "photo_keys",
    "process_photo",
    "store_photos",
]

OUTPUT_CONTENT_TYPE: Final = "image/jpeg"
_ACCEPTED: Final = "JPEG, PNG, WebP or HEIC"


class SourceFormat(StrEnum):
    """The formats a citizen may send, as recognised from the bytes."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIC = "heic"


# The Pillow plugin allowed to open each format: Image.open is restricted to it, so bytes that
# look like one format are never handed to another, more exotic, decoder.
_PILLOW_FORMAT: Final = {
    SourceFormat.JPEG: "JPEG",
    SourceFormat.PNG: "PNG",
    SourceFormat.WEBP: "WEBP",
    SourceFormat.HEIC: "HEIF",
}
# ISO base media file brands (the 'ftyp' box) of HEIF images coded with HEVC, and of the
# generic HEIF structure phones write as major or compatible brand.
_HEIC_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})
_LARGEST_FTYP_BOX: Final = 1024


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    """How large a photo may be, how many a report may have, and what is kept of them."""

    max_bytes: int = 10_000_000
    # 40 megapixels covers current phone cameras (a 48 MP sensor writes 12 MP by default) while
    # bounding the decoded size at about 120 MB of RGB.
    max_pixels: int = 40_000_000
    max_per_report: int = 5
    stored_longest_side: int = 2048
    thumbnail_longest_side: int = 320
    stored_quality: int = 85
    thumbnail_quality: int = 75

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_per_report", "thumbnail_longest_side"):
            if getattr(self, name) < 1:
                raise ValueError(f"PhotoLimits.{name} must be at least 1")
        if self.stored_longest_side < self.thumbnail_longest_side:
            raise ValueError("PhotoLimits.stored_longest_side must not be below the thumbnail's")
        pillow_limit = Image.MAX_IMAGE_PIXELS
        if pillow_limit is not None and self.max_pixels > pillow_limit:
            # Above it Pillow's own bomb guard would answer first, with its own message.
            raise ValueError(
                f"PhotoLimits.max_pixels must not exceed Pillow's MAX_IMAGE_PIXELS ({pillow_limit})"
            )
        for name in ("stored_quality", "thumbnail_quality"):
            if not 1 <= getattr(self, name) <= 95:
                # Pillow's documentation: above 95 the file grows with no visible gain.
                raise ValueError(f"PhotoLimits.{name} must be between 1 and 95")


DEFAULT_PHOTO_LIMITS: Final = PhotoLimits()


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    """A photo ready to store: the re-encoded image and its thumbnail, both without metadata."""

    source_format: SourceFormat
    content_type: str
    data: bytes
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    thumbnail_width: int
    thumbnail_height: int


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    """Where a report's photo and its thumbnail were stored, and what they are."""

    number: int
    key: str
    thumbnail_key: str
    content_type: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    thumbnail_width: int
    thumbnail_height: int


def detect_format(data: bytes) -> SourceFormat:
    """Recognise an accepted format from the leading bytes; ``InvalidInput`` otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return SourceFormat.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return SourceFormat.PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return SourceFormat.WEBP
    brands = _iso_media_brands(data)
    if brands & _AVIF_BRANDS:
        raise _unsupported("AVIF")
    if brands & _HEIC_BRANDS:
        return SourceFormat.HEIC
    other = _other_image_format(data)
    if other is not None:
        raise _unsupported(other)
    raise InvalidInput(
        f"the file is not an image: its content is none of {_ACCEPTED}",
        code="photo_not_an_image",
    )


def process_photo(data: bytes, limits: PhotoLimits = DEFAULT_PHOTO_LIMITS) -> ProcessedPhoto:
    """Check one uploaded photo against ``limits`` and re-encode it without metadata.

    Raises ``InvalidInput`` with code ``photo_too_large``, ``photo_not_an_image``,
    ``photo_unsupported_format``, ``photo_too_many_pixels`` or ``photo_unreadable``.
    """
    if len(data) > limits.max_bytes:
        size, limit = _sizes(len(data), limits.max_bytes)
        raise InvalidInput(f"the photo is {size}; the limit is {limit}", code="photo_too_large")
    if not data:
        raise InvalidInput("the photo is empty", code="photo_not_an_image")
    source_format = detect_format(data)
    _register_heif_opener()
    try:
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[source_format]]) as opened:
            # Image.open has only read the header: nothing is decoded yet.
            width, height = opened.size
            if width * height > limits.max_pixels:
                raise _too_many_pixels(f"{width} × {height} pixels", limits)
            # JPEG only (a no-op elsewhere): decode at 1/2, 1/4 or 1/8 scale when the result
            # still covers the stored size, which saves most of the memory of a large photo.
            opened.draft("RGB", (limits.stored_longest_side, limits.stored_longest_side))
            opened.load()
            image = _upright_srgb(opened)
    except Image.DecompressionBombError:
        # Image.open itself refuses headers above twice Pillow's MAX_IMAGE_PIXELS, before the
        # check above can run; PhotoLimits keeps max_pixels below that, so this is a refusal too.
        pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise _too_many_pixels(f"more than {pillow_limit:,} pixels", limits) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error):
        # Truncated or corrupt data, or a format variant the decoder does not support.
        raise InvalidInput(
            f"the photo looks like {source_format.name} but could not be decoded: the file is "
            "damaged or incomplete",
            code="photo_unreadable",
        ) from None

    image.thumbnail(
        (limits.stored_longest_side, limits.stored_longest_side), Image.Resampling.LANCZOS
    )
    stored = _encode_jpeg(image, limits.stored_quality)
    thumbnail_image = image.copy()
    thumbnail_image.thumbnail(
        (limits.thumbnail_longest_side, limits.thumbnail_longest_side), Image.Resampling.LANCZOS
    )
    return ProcessedPhoto(
        source_format=source_format,
        content_type=OUTPUT_CONTENT_TYPE,
        data=stored,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(stored).hexdigest(),
        thumbnail=_encode_jpeg(thumbnail_image, limits.thumbnail_quality),
        thumbnail_width=thumbnail_image.width,
        thumbnail_height=thumbnail_image.height,
    )


def photo_keys(report_key: str, number: int) -> tuple[str, str]:
    """The storage keys of a report's photo ``number`` (from 1) and of its thumbnail."""
    return f"reports/{report_key}/{number}.jpg", f"reports/{report_key}/{number}.thumb.jpg"


def store_photos(
    storage: PhotoStorage,
    report_key: str,
    photos: Sequence[bytes],
    limits: PhotoLimits = DEFAULT_PHOTO_LIMITS,
    *,
    already_stored: int = 0,
) -> list[StoredPhoto]:
    """Process every photo of a report, then store them all, or none when one is refused.

    ``already_stored`` photos of the same report count towards the limit and the new ones are
    numbered after them. Every refused photo is reported (``details``, one ``Problem`` each,
    located ``photos[i]`` from 0); the error's code is the refused photo's code when all
    refusals share it, else ``photos_refused``. If writing fails half-way, what this call wrote
    is deleted again before the error propagates.
    """
    if "/" in report_key or "." in report_key:
        raise InvalidInput(
            f"report key {report_key!r} must be a single segment without '.'",
            code="invalid_storage_key",
        )
    check_key(report_key)
    total = already_stored + len(photos)
    if total > limits.max_per_report:
        already = f" ({already_stored} already stored)" if already_stored else ""
        raise InvalidInput(
            f"a report may have at most {limits.max_per_report} photos; this one would have "
            f"{total}{already}",
            code="too_many_photos",
        )

    processed: list[ProcessedPhoto] = []
    problems: list[Problem] = []
    for index, data in enumerate(photos):
        try:
            processed.append(process_photo(data, limits))
        except InvalidInput as refusal:
            problems.append(Problem(f"photos[{index}]", refusal.message, code=refusal.code))
    if problems:
        codes = {problem["code"] for problem in problems}
        summary = "; ".join(f"{problem['loc']}: {problem['message']}" for problem in problems)
        raise InvalidInput(
            f"{len(problems)} of {len(photos)} photos refused, none stored: {summary}",
            details=problems,
            code=codes.pop() if len(codes) == 1 else "photos_refused",
        )

    stored: list[StoredPhoto] = []
    written: list[str] = []
    try:
        for number, photo in enumerate(processed, start=already_stored + 1):
            key, thumbnail_key = photo_keys(report_key, number)
            storage.put(key, photo.data, photo.content_type)
            written.append(key)
            storage.put(thumbnail_key, photo.thumbnail, photo.content_type)
            written.append(thumbnail_key)
            stored.append(
                StoredPhoto(
                    number=number,
                    key=key,
                    thumbnail_key=thumbnail_key,
                    content_type=photo.content_type,
                    width=photo.width,
                    height=photo.height,
                    size_bytes=len(photo.data),
                    sha256=photo.sha256,
                    thumbnail_width=photo.thumbnail_width,
                    thumbnail_height=photo.thumbnail_height,
                )
            )
    except BaseException:
        for key in written:
            # Best effort: the write error is the one worth reporting, not a failed clean-up.
            with contextlib.suppress(Exception):
                storage.delete(key)
        raise
    return stored


@functools.cache
def _register_heif_opener() -> None:
    # Once per process: registering again would only re-register the same plugin. Embedded
    # thumbnails, depth maps and auxiliary images are never decoded: the thumbnail is made from
    # the real pixels, and a HEIC's embedded thumbnail could show something else.
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _iso_media_brands(data: bytes) -> frozenset[bytes]:
    """The major and compatible brands of an ISO base media file's leading 'ftyp' box."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return frozenset()
    box_size = int.from_bytes(data[:4], "big")
    if not 16 <= box_size <= min(len(data), _LARGEST_FTYP_BOX):
        return frozenset()
    # major brand, minor version (skipped), then compatible brands of four bytes each.
    compatible = (data[offset : offset + 4] for offset in range(16, box_size - 3, 4))
    return frozenset({data[8:12], *compatible})


def _other_image_format(data: bytes) -> str | None:
    """Name the common image formats that are refused, for a precise message."""
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    # 'BM' alone is also how plenty of text starts: the header's file size must match too.
    if (
        data.startswith(b"BM")
        and len(data) >= 6
        and int.from_bytes(data[2:6], "little") == len(data)
    ):
        return "BMP"
    if data.startswith(b"\xff\x0a") or data.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JPEG XL"
    return None


def _unsupported(format_name: str) -> InvalidInput:
    return InvalidInput(
        f"{format_name} images are not accepted; send a {_ACCEPTED} photo",
        code="photo_unsupported_format",
    )


def _too_many_pixels(size: str, limits: PhotoLimits) -> InvalidInput:
    return InvalidInput(
        f"the photo has {size}; the limit is {limits.max_pixels / 1_000_000:g} megapixels",
        code="photo_too_many_pixels",
    )


def _sizes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in MB when that tells them apart, else both in bytes."""
    size_mb, limit_mb = f"{size / 1_000_000:.1f} MB", f"{limit / 1_000_000:.1f} MB"
    if size >= 100_000 and size_mb != limit_mb:
        return size_mb, limit_mb
    return f"{size:,} bytes", f"{limit:,} bytes"


def _upright_srgb(image: Image.Image) -> Image.Image:
    """A new RGB image: orientation applied, colours in sRGB, transparency on white, no info."""
    oriented = _apply_orientation(image)
    working = _working_mode(oriented)
    icc_profile = image.info.get("icc_profile")
    if isinstance(icc_profile, bytes) and icc_profile:
        working = _to_srgb(working, icc_profile)
    if working.mode == "RGBA":
        flattened = Image.new("RGB", working.size, "white")
        flattened.paste(working, mask=working.getchannel("A"))
    else:
        flattened = working.convert("RGB")
    # Only pixels cross over: a fresh image has an empty ``info``, so no EXIF, XMP, comment or
    # profile of the upload can be written back by an encoder that reads ``info``.
    clean = Image.new("RGB", flattened.size)
    clean.paste(flattened)
    return clean


def _apply_orientation(image: Image.Image) -> Image.Image:
    try:
        oriented = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError, struct.error):
        # Unparsable EXIF: keep the photo as stored rather than refuse it for its metadata.
        return image
    return image if oriented is None else oriented


def _working_mode(image: Image.Image) -> Image.Image:
    """Bring every decoder output to RGB, RGBA, L or CMYK, which colour management handles."""
    mode = image.mode
    if mode.startswith("I"):
        # 16-bit greyscale (PNG): scale to 8 bits; a plain conversion would clip at 255.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if mode == "RGBA":
        return image
    if mode in ("LA", "La", "PA", "RGBa") or "transparency" in image.info:
        # Palette and colour-key transparency (PNG tRNS) become a real alpha channel.
        return image.convert("RGBA")
    if mode in ("RGB", "L", "CMYK"):
        return image
    return image.convert("RGB")


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc_profile: bytes) -> Image.Image:
    output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(
            image, source, _srgb_profile(), outputMode=output_mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken profile, or one for another colour space than the pixels': treating the
        # pixels as sRGB shifts colours slightly, which beats refusing the photo.
        return image
    return image if converted is None else converted


def _encode_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    # Nothing but pixels: no exif, icc_profile, comment or xmp argument is given, and the image
    # has no info an encoder could fall back on.
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()
