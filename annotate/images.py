"""Item images: checked by content, stored through Django's storage API.

An image is accepted when Pillow decodes the whole of it (and, for PNG, its pixel data holds every
row: Pillow quietly accepts a complete zlib stream that stops short), its format is one of
``ALLOWED_FORMATS`` (whatever its name or declared type says), it is no larger than
``DISSENSUS_IMAGE_MAX_BYTES`` and has no more than ``DISSENSUS_IMAGE_MAX_PIXELS`` pixels. Files are
stored under a name derived from their SHA-256, so importing the same image twice stores it once,
and a rolled-back import leaves at most unreferenced files behind, never a wrong one. An image is
decoded once per content: the verdict is remembered by SHA-256, so one large image referenced by
many rows costs one decode.
"""

from __future__ import annotations

import hashlib
import io
import struct
import urllib.request
import warnings
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

ALLOWED_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
STORAGE_PREFIX = "item-images/"


class ImageRejected(Exception):
    """The bytes are not an image this platform accepts; the message says why."""


@dataclass(frozen=True)
class StoredImage:
    path: str
    width: int
    height: int
    format: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "format": self.format,
        }


def max_bytes() -> int:
    return int(getattr(settings, "DISSENSUS_IMAGE_MAX_BYTES", 20 * 1024 * 1024))


def max_pixels() -> int:
    return int(getattr(settings, "DISSENSUS_IMAGE_MAX_PIXELS", 64_000_000))


def read_limited(source: IO[bytes]) -> bytes:
    """Read at most the size limit; a longer source is rejected without reading it all."""
    limit = max_bytes()
    data = source.read(limit + 1)
    if len(data) > limit:
        raise ImageRejected(f"larger than the limit of {limit} bytes")
    return data


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (first column, first row, column step, row step).
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _png_expected_bytes(width: int, height: int, depth: int, color: int, interlaced: bool) -> int:
    bits = depth * _PNG_CHANNELS.get(color, 4)

    def scanlines(columns: int, rows: int) -> int:
        return 0 if columns == 0 or rows == 0 else rows * (1 + (columns * bits + 7) // 8)

    if not interlaced:
        return scanlines(width, height)
    return sum(
        scanlines((width - x + dx - 1) // dx, (height - y + dy - 1) // dy)
        for x, y, dx, dy in _ADAM7
    )


def png_is_complete(data: bytes) -> bool:
    """Whether a PNG's image data decompresses to every row its header declares (read in chunks,
    never held whole)."""
    if not data.startswith(_PNG_SIGNATURE) or len(data) < 33:
        return False
    width, height, depth, color, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", data[16:29]
    )
    expected = _png_expected_bytes(width, height, depth, color, interlace == 1)
    inflater = zlib.decompressobj()
    produced = 0
    position = 8
    while position + 8 <= len(data) and produced <= expected:
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            chunk = data[position + 8 : position + 8 + length]
            while chunk and produced <= expected:
                produced += len(inflater.decompress(chunk, 1 << 20))
                chunk = inflater.unconsumed_tail
        elif kind == b"IEND":
            break
        position += 12 + length
    return produced >= expected


_VERDICTS: OrderedDict[tuple[str, int, int], tuple[str, int, int] | str] = OrderedDict()
_VERDICTS_KEPT = 4096


def image_inspect(data: bytes) -> tuple[str, int, int]:
    """(extension, width, height) of an acceptable image; ``ImageRejected`` otherwise.

    Decodes each content once: the verdict (accepted or the reason not) is remembered by the
    bytes' SHA-256 and the limits it was judged under."""
    if len(data) > max_bytes():
        raise ImageRejected(f"larger than the limit of {max_bytes()} bytes")
    if not data:
        raise ImageRejected("the file is empty")
    key = (hashlib.sha256(data).hexdigest(), max_bytes(), max_pixels())
    verdict = _VERDICTS.get(key)
    if verdict is None:
        try:
            verdict = _image_decode(data)
        except ImageRejected as exc:
            verdict = str(exc)
        _VERDICTS[key] = verdict
        while len(_VERDICTS) > _VERDICTS_KEPT:
            _VERDICTS.popitem(last=False)
    if isinstance(verdict, str):
        raise ImageRejected(verdict)
    return verdict


def _image_decode(data: bytes) -> tuple[str, int, int]:
    from PIL import Image, ImageFile, UnidentifiedImageError

    if ImageFile.LOAD_TRUNCATED_IMAGES:  # a process-wide switch; never on where imports run
        raise ImageRejected("the server is set to accept truncated images; refusing to check")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format
                width, height = image.size
                if kind not in ALLOWED_FORMATS:
                    raise ImageRejected(
                        f"{kind or 'unknown'} images are not accepted "
                        f"(use {', '.join(sorted(ALLOWED_FORMATS))})"
                    )
                if width * height > max_pixels():
                    raise ImageRejected(f"{width}×{height} is more than {max_pixels()} pixels")
                image.load()  # decodes every pixel: a truncated file fails here
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("not an image (Pillow cannot identify its format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"too many pixels: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"the image cannot be decoded (truncated or corrupt?): {exc}") from None
    if kind == "PNG" and not png_is_complete(data):
        raise ImageRejected("the image is truncated: its pixel data stops before the last row")
    return ALLOWED_FORMATS[kind], width, height


def image_store(data: bytes) -> StoredImage:
    """Check ``data`` and store it (once per content) through the default storage."""
    extension, width, height = image_inspect(data)
    digest = hashlib.sha256(data).hexdigest()
    path = f"{STORAGE_PREFIX}{digest[:2]}/{digest}.{extension}"
    if not default_storage.exists(path):
        path = default_storage.save(path, ContentFile(data))
    return StoredImage(path=path, width=width, height=height, format=extension)


def image_from_storage(path: str) -> StoredImage:
    """An image already in the storage (e.g. put there by an earlier import), checked again."""
    if not path.startswith(STORAGE_PREFIX) or ".." in path.split("/"):
        raise ImageRejected(f"{path!r} is not an item image path")
    if not default_storage.exists(path):
        raise ImageRejected(f"no stored image {path!r}")
    with default_storage.open(path, "rb") as handle:
        data = read_limited(handle)
    extension, width, height = image_inspect(data)
    return StoredImage(path=path, width=width, height=height, format=extension)


def image_fetch(url: str) -> bytes:
    """Download an image from an http(s) URL, within the size limit and a timeout."""
    if not url.lower().startswith(("http://", "https://")):
        raise ImageRejected("only http and https URLs are fetched")
    timeout = float(getattr(settings, "DISSENSUS_IMAGE_FETCH_TIMEOUT", 20))
    request = urllib.request.Request(url, headers={"User-Agent": "dissensus-import"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes():
                raise ImageRejected(f"larger than the limit of {max_bytes()} bytes")
            return read_limited(response)
    except ImageRejected:
        raise
    except (OSError, ValueError) as exc:
        raise ImageRejected(f"cannot fetch {url}: {exc}") from None
