"""Where report photos are kept: a small key/bytes interface and its file-system implementation.

Keys are relative, lower-case paths (``reports/<report>/<n>.jpg``) so that the same keys work
on an object store later. The file-system implementation is the embedded default: it writes
under the data directory, atomically, readable by the platform's user only.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Final, Protocol

from metropilot.shared.errors import InvalidInput, NotFound

__all__ = [
    "MAX_KEY_LENGTH",
    "FileSystemStorage",
    "PhotoStorage",
    "check_key",
]

MAX_KEY_LENGTH: Final = 512
# One or more segments of lower-case letters, digits, '_', '-' and '.', joined by single '/'.
# Segments may not start with a dot: that rules out '.' and '..' (escaping the root), hidden
# files, and collisions with the '.tmp-' files an atomic write leaves behind while it runs.
_KEY_PATTERN: Final = re.compile(r"[a-z0-9_-][a-z0-9_.-]*(?:/[a-z0-9_-][a-z0-9_.-]*)*")
_FILE_MODE: Final = 0o600
_DIRECTORY_MODE: Final = 0o700
_TEMPORARY_PREFIX: Final = ".tmp-"


class PhotoStorage(Protocol):
    """Bytes kept under a key. Every implementation refuses keys that ``check_key`` refuses."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there; all of it or nothing."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; ``NotFound`` when there are none."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens when nothing is stored under it."""
        ...

    def exists(self, key: str) -> bool:
        """Whether something is stored under ``key``."""
        ...


def check_key(key: str) -> str:
    """Return ``key`` when it is a safe relative key, else raise ``InvalidInput``."""
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"storage key is {len(key)} characters long; the limit is {MAX_KEY_LENGTH}",
            code="invalid_storage_key",
        )
    if _KEY_PATTERN.fullmatch(key) is None:
        raise InvalidInput(
            f"storage key {key!r} is not allowed: use lower-case letters, digits, '_', '-' and "
            "'.' in segments separated by single '/', with no leading '/' and no segment "
            "starting with '.'",
            code="invalid_storage_key",
        )
    return key


class FileSystemStorage:
    """Keeps each key as a file under ``root`` (created on first write, owner-only)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes, content_type: str) -> None:
        # The content type is not kept: the key's extension already says it. An object store
        # would send it as the object's Content-Type.
        path = self._path(key)
        self._make_directories(path.parent)
        descriptor, temporary_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMPORARY_PREFIX)
        temporary = Path(temporary_name)
        try:
            with os.fdopen(descriptor, "wb") as file:
                # mkstemp already creates the file 0o600; fchmod makes it explicit and
                # independent of the platform's defaults.
                os.fchmod(file.fileno(), _FILE_MODE)
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        # The rename itself is only durable once the directory entry reaches the disk.
        _fsync_directory(path.parent)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(
                f"nothing is stored under {key!r}", code="stored_object_not_found"
            ) from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        path = self.root.joinpath(*check_key(key).split("/"))
        # The key pattern already keeps paths inside the root; this also catches a symbolic
        # link planted inside the root that points elsewhere.
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise InvalidInput(
                f"storage key {key!r} leads outside the storage root", code="invalid_storage_key"
            )
        return path

    def _make_directories(self, directory: Path) -> None:
        # Path.mkdir(parents=True) gives the intermediate directories the default mode, so each
        # level is made here with the owner-only one.
        missing: list[Path] = []
        current = directory
        while not current.is_dir():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        for level in reversed(missing):
            with contextlib.suppress(FileExistsError):
                level.mkdir(mode=_DIRECTORY_MODE)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
