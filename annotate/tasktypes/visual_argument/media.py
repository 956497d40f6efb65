"""``visual_argument`` media: images at import, from a zip of images plus a manifest, from
http(s) URLs, or from the storage. Generic image checks and storage live in ``annotate.images``.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings

from annotate.images import (
    STORAGE_PREFIX,
    ImageRejected,
    image_fetch,
    image_from_storage,
    image_store,
    read_limited,
)
from core.errors import FieldError, InvalidInput
from core.limits import zip_check_uncompressed

from ..base import ImportSource
from .schemas import ImageProblem

MANIFEST_NAMES = (("manifest.jsonl", "jsonl"), ("manifest.json", "json"), ("manifest.csv", "csv"))


def zip_source(stream: Any) -> ImportSource:
    limit = int(getattr(settings, "DISSENSUS_IMPORT_ARCHIVE_MAX_BYTES", 2 * 1024**3))
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the resolver when it finishes
    copied = 0
    while chunk := stream.read(1 << 20):
        copied += len(chunk)
        if copied > limit:
            spool.close()
            raise InvalidInput(
                f"the archive is larger than {limit} bytes",
                detail=[FieldError("file", "archive too large")],
            )
        spool.write(chunk)
    spool.seek(0)
    try:
        archive = zipfile.ZipFile(spool)
        zip_check_uncompressed(archive, limit=limit)  # the limit counts uncompressed bytes
    except InvalidInput:
        spool.close()
        raise
    except zipfile.BadZipFile as exc:
        spool.close()
        raise InvalidInput(
            f"not a valid zip archive: {exc}",
            detail=[FieldError("file", "not a valid zip archive")],
        ) from None
    names = set(archive.namelist())
    for name, fmt in MANIFEST_NAMES:
        if name in names:
            manifest = archive.open(name)
            return ImportSource(stream=manifest, fmt=fmt, finish=resolver(archive, spool))
    archive.close()
    spool.close()
    wanted = ", ".join(name for name, _fmt in MANIFEST_NAMES)
    raise InvalidInput(
        f"the archive holds no manifest (one of {wanted} at its top level)",
        detail=[FieldError("file", "no manifest in the archive")],
    )


def resolver(archive: zipfile.ZipFile | None, spool: Any = None) -> Any:
    def resolve(records: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
        # Consecutive records naming the same image (one VisArgs row's negative sets) read and
        # check it once.
        last: tuple[Any, Any] = (None, None)
        try:
            for line, record in records:
                if isinstance(record, dict) and "image" in record:
                    record = dict(record)
                    reference = record["image"]
                    if not (isinstance(reference, str) and reference == last[0]):
                        last = (reference, _resolve_image(reference, archive))
                    record["image"] = last[1]
                yield line, record
        finally:
            if archive is not None:
                archive.close()
            if spool is not None:
                spool.close()

    return resolve


def _archive_member(archive: zipfile.ZipFile, reference: str) -> zipfile.ZipInfo | None:
    name = reference.removeprefix("./")
    try:
        return archive.getinfo(name)
    except KeyError:
        return None


def _resolve_image(reference: Any, archive: zipfile.ZipFile | None) -> Any:
    try:
        if isinstance(reference, Mapping) and isinstance(reference.get("path"), str):
            stored = image_from_storage(reference["path"])
            result = stored.as_dict()
            if reference.get("source"):
                result["source"] = reference["source"]
            return result
        if not isinstance(reference, str) or not reference.strip():
            return ImageProblem(
                "must name a file in the archive, an http(s) URL, or a stored image path"
            )
        reference = reference.strip()
        if archive is not None and (member := _archive_member(archive, reference)) is not None:
            with archive.open(member) as handle:
                stored = image_store(read_limited(handle))
        elif reference.lower().startswith(("http://", "https://")):
            if not settings.DISSENSUS_IMAGE_FETCH_URLS:
                return ImageProblem("fetching image URLs is turned off on this server")
            stored = image_store(image_fetch(reference))
        elif reference.startswith(STORAGE_PREFIX):
            stored = image_from_storage(reference)
        else:
            where = "in the archive" if archive is not None else "(import a zip with the images)"
            return ImageProblem(
                f"{reference!r} is not a file {where}, an http(s) URL or a stored image path"
            )
    except ImageRejected as exc:
        return ImageProblem(f"{reference if isinstance(reference, str) else 'image'}: {exc}")
    return {**stored.as_dict(), "source": reference}
