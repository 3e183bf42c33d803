"""Uploaded resource files, read through CKAN's uploader rather than by path.

CKAN 2.11's ResourceUpload (and 2.12's when only `ckan.storage_path` is set)
keeps files in a folder and `get_path` gives a path; CKAN 2.12's file-keeper
storages (`ckan.files.storage.*`: a folder, object storage…) give a location
that only the storage can read. Both are read here as a stream of chunks, so
that no caller depends on the files being on this machine's disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ckan.lib import uploader

CHUNK = 64 * 1024


def _uploader(resource_id: str) -> Any:
    return uploader.get_resource_uploader({"id": resource_id, "url_type": "upload"})


def _file_keeper(upload: Any) -> bool:
    fk_class = getattr(uploader, "FKResourceUpload", None)
    return fk_class is not None and isinstance(upload, fk_class) and upload.storage is not None


def size(resource_id: str) -> int | None:
    """The uploaded file's size in bytes, or None if there is no such file."""
    upload = _uploader(resource_id)
    if _file_keeper(upload):
        from ckan.lib import files

        location = upload.get_path(resource_id)
        if not upload.storage.exists(files.FileData(location)):
            return None
        return upload.storage.size(location)
    if not getattr(upload, "storage_path", None):
        return None
    path = upload.get_path(resource_id)
    return os.path.getsize(path) if os.path.isfile(path) else None


def chunks(resource_id: str) -> Iterator[bytes]:
    """The uploaded file's bytes, in chunks (FileNotFoundError if it is missing)."""
    upload = _uploader(resource_id)
    if _file_keeper(upload):
        from ckan.lib import files

        location = upload.get_path(resource_id)
        try:
            yield from upload.storage.stream(files.FileData(location))
        except files.exc.MissingFileError as error:
            raise FileNotFoundError(location) from error
        return
    if not getattr(upload, "storage_path", None):
        raise FileNotFoundError(resource_id)
    with open(upload.get_path(resource_id), "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def read(resource_id: str, limit: int) -> bytes:
    """At most limit + 1 bytes of the uploaded file: one more than the limit tells it is larger."""
    out = bytearray()
    for chunk in chunks(resource_id):
        out += chunk
        if len(out) > limit:
            break
    return bytes(out[: limit + 1])
