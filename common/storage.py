"""Model buckets, chosen by URL: ``file:///dir`` (the default) or ``gs://bucket``.

Both give the same small interface: read an object with its generation and
metadata, write one (optionally only if absent), list by prefix. Object names
are checked once here, so ``../`` or absolute names never reach a file system.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import stat as stat_module
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from common.backends import load_backend
from common.errors import AppError, ConfigError, InvalidEvent, InvalidModel, NotFound, TransientError

log = logging.getLogger(__name__)
BUCKETS: dict[str, str] = {"file": "common.storage:FileBucket", "gs": "common.storage:GcsBucket"}


@dataclass(frozen=True)
class StoredObject:
    """An object's identity and properties (no content)."""

    bucket: str
    name: str
    generation: str
    size: int
    uri: str
    metadata: dict[str, str] = field(default_factory=dict)


class Bucket(Protocol):
    url: str
    name: str

    def read(self, name: str, max_bytes: int | None = None) -> tuple[bytes, StoredObject]: ...

    def write(
        self, name: str, data: bytes, metadata: dict[str, str] | None = None, if_generation_match: str | None = None
    ) -> StoredObject:
        """Write an object; with ``if_generation_match`` only if the current generation
        is that one (``"0"``: only if absent), else ``PreconditionFailed``."""
        ...

    def list(self, prefix: str = "") -> list[StoredObject]: ...

    def uri(self, name: str) -> str: ...

    def version(self, name: str) -> str:
        """What identifies the object's current bytes, from its metadata alone (one request on
        GCS, a ``stat`` of a folder's file, never a read); ``NotFound`` when it is absent."""
        ...


class PreconditionFailed(TransientError):
    """A conditional write lost a race; re-read and try again."""


@contextmanager
def _folder_lock(root: Path) -> Iterator[None]:
    """Serialise conditional writes to a folder bucket across threads and processes."""
    root.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCK, open(root / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_THREAD_LOCK = threading.Lock()


def check_object_name(name: str) -> str:
    """Refuse names that could escape a folder or confuse a path: ``..``, absolute, empty."""
    if not isinstance(name, str) or not name or len(name) > 1024:
        raise InvalidEvent(f"object name {name!r} is empty or too long")
    if "\x00" in name or "\\" in name or name.startswith("/"):
        raise InvalidEvent(f"object name {name!r} is absolute or has forbidden characters")
    if any(part in ("", ".", "..") for part in PurePosixPath(name).parts) or "//" in name:
        raise InvalidEvent(f"object name {name!r} contains '..' or empty path segments")
    return name


def confined(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it resolves (links followed) to a place inside ``root``.

    Every file path built from outside input (an object name, a manifest's sha256 or
    model path) goes through here, so no input can reach a file outside its folder.
    """
    base = root.resolve()
    resolved = (base / relative).resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise InvalidEvent(f"{relative!r} resolves outside {root}")
    return root / relative


SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def check_sha256(value: object, what: str) -> str:
    """A sha256 as this system writes it: exactly 64 lowercase hex digits."""
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
        raise InvalidModel(f"{what}: sha256 {str(value)[:80]!r} is not 64 lowercase hex digits")
    return value


def open_bucket(url: str) -> Bucket:
    """The bucket for ``url``: ``file:///dir`` or ``gs://bucket``."""
    return load_backend(url, BUCKETS, "MODEL_BUCKET_URL")  # type: ignore[no-any-return]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileBucket:
    """A folder standing in for a bucket; metadata lives in ``.<name>.meta.json`` beside it."""

    def __init__(self, url: str) -> None:
        raw = url.split("://", 1)[1]
        if not raw.startswith("/"):
            raise ConfigError(f"MODEL_BUCKET_URL {url!r} must be file:///absolute/path")
        self.url = url
        self.root = Path(raw)
        self.name = self.root.name

    def path(self, name: str) -> Path:
        return confined(self.root, check_object_name(name))

    def uri(self, name: str) -> str:
        return f"file://{self.path(name)}"

    def _meta_path(self, path: Path) -> Path:
        return path.with_name(f".{path.name}.meta.json")

    def info(self, name: str) -> StoredObject:
        path = self.path(name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise NotFound(f"no object {name!r} in {self.url}") from None
        if not stat_module.S_ISREG(stat.st_mode):  # a folder (or a device) is never an object
            raise NotFound(f"no object {name!r} in {self.url}: {path} is not a file")
        meta_path = self._meta_path(path)
        metadata = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return StoredObject(self.name, name, str(stat.st_mtime_ns), stat.st_size, self.uri(name), metadata)

    def version(self, name: str) -> str:
        """mtime, inode and size: a rewrite (written aside, then renamed) is a new inode even
        within the file system's timestamp granularity."""
        try:
            stat = self.path(name).stat()
        except FileNotFoundError:
            raise NotFound(f"no object {name!r} in {self.url}") from None
        if not stat_module.S_ISREG(stat.st_mode):
            raise NotFound(f"no object {name!r} in {self.url}: not a file")
        return f"{stat.st_mtime_ns}:{stat.st_ino}:{stat.st_size}"

    def read(self, name: str, max_bytes: int | None = None) -> tuple[bytes, StoredObject]:
        info = self.info(name)
        if max_bytes is not None and info.size > max_bytes:
            return b"", info
        return self.path(name).read_bytes(), info

    def write(
        self, name: str, data: bytes, metadata: dict[str, str] | None = None, if_generation_match: str | None = None
    ) -> StoredObject:
        path = self.path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _folder_lock(self.root):
                if if_generation_match is not None:
                    current = str(path.stat().st_mtime_ns) if path.exists() else "0"
                    if current != str(if_generation_match):
                        raise PreconditionFailed(
                            f"{self.uri(name)} is at generation {current}, not {if_generation_match}"
                        )
                self._write_aside_then_rename(path, data, metadata)
                return self.info(name)
        except OSError as exc:  # a full disk, a read-only folder: the same write may succeed later
            raise TransientError(f"cannot write {self.uri(name)}: {exc.strerror or exc}") from exc

    def _write_aside_then_rename(self, path: Path, data: bytes, metadata: dict[str, str] | None) -> None:
        """The object and its metadata are written beside it, then renamed into place: readers never
        see a half-written object, and a failed write (ENOSPC) removes both halves."""
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        meta_tmp = path.with_name(f".{path.name}.meta.tmp-{os.getpid()}")
        try:
            tmp.write_bytes(data)
            if metadata:
                meta_tmp.write_text(json.dumps(metadata, sort_keys=True))
            os.replace(tmp, path)
            if metadata:
                os.replace(meta_tmp, self._meta_path(path))
        finally:
            tmp.unlink(missing_ok=True)
            meta_tmp.unlink(missing_ok=True)

    def list(self, prefix: str = "") -> list[StoredObject]:
        if not self.root.exists():
            return []
        found = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".") and rel.startswith(prefix):
                try:
                    found.append(self.info(rel))
                except InvalidEvent as exc:  # e.g. a link leading out of the folder: not an object of ours
                    log.warning("ignoring %s in %s: %s", rel, self.url, exc)
        return found


class GcsBucket:
    """``gs://bucket`` through google-cloud-storage (honours STORAGE_EMULATOR_HOST)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = url.split("://", 1)[1].strip("/")
        if not self.name or "/" in self.name:
            raise ConfigError(f"MODEL_BUCKET_URL {url!r} must be gs://BUCKET")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._translated("connect to"):
                from google.cloud import storage  # type: ignore[attr-defined]

                self._client = storage.Client()
        return self._client

    @contextmanager
    def _translated(self, action: str, name: str = "") -> Iterator[None]:
        """Every google-cloud-storage / google-auth error as one of ours: the backend boundary."""
        from google.api_core import exceptions as gexc
        from google.auth.exceptions import GoogleAuthError

        where = f"{self.url}/{name}" if name else self.url
        try:
            yield
        except AppError:
            raise
        except gexc.NotFound:
            raise NotFound(f"no object {name!r} in {self.url}") from None
        except gexc.PreconditionFailed as exc:
            raise PreconditionFailed(f"{where} changed concurrently: {exc}") from exc
        except GoogleAuthError as exc:  # no or unusable credentials: construction, or a token refresh
            raise ConfigError(
                f"cannot {action} bucket {where}: no usable Google credentials "
                f"(`gcloud auth application-default login`, or the service account): {type(exc).__name__}"
            ) from exc
        except (gexc.Forbidden, gexc.Unauthorized) as exc:
            raise ConfigError(f"bucket {where} refused access (check the service account's roles): {exc}") from exc
        except (gexc.GoogleAPICallError, gexc.RetryError, ConnectionError, OSError, ValueError) as exc:
            raise TransientError(f"cannot {action} bucket {where}: {type(exc).__name__}: {exc}") from exc  # default

    def uri(self, name: str) -> str:
        return f"gs://{self.name}/{check_object_name(name)}"

    def _object(self, blob: Any) -> StoredObject:
        return StoredObject(
            self.name,
            blob.name,
            str(blob.generation),
            int(blob.size or 0),
            self.uri(blob.name),
            dict(blob.metadata or {}),
        )

    def version(self, name: str) -> str:
        """The object's generation: one metadata request, no download."""
        with self._translated("read from", check_object_name(name)):
            blob = self.client.bucket(self.name).get_blob(name)
            if blob is None:
                raise NotFound(f"no object {name!r} in {self.url}")
            return str(blob.generation)

    def read(self, name: str, max_bytes: int | None = None) -> tuple[bytes, StoredObject]:
        with self._translated("read from", check_object_name(name)):
            blob = self.client.bucket(self.name).get_blob(name)
            if blob is None:
                raise NotFound(f"no object {name!r} in {self.url}")
            info = self._object(blob)
            if max_bytes is not None and info.size > max_bytes:
                return b"", info
            return blob.download_as_bytes(if_generation_match=blob.generation), info

    def write(
        self, name: str, data: bytes, metadata: dict[str, str] | None = None, if_generation_match: str | None = None
    ) -> StoredObject:
        match = int(if_generation_match) if if_generation_match is not None else None
        with self._translated("write to", check_object_name(name)):
            blob = self.client.bucket(self.name).blob(name)
            blob.metadata = metadata or None
            blob.upload_from_string(data, content_type="application/octet-stream", if_generation_match=match)
            return self._object(blob)

    def list(self, prefix: str = "") -> list[StoredObject]:
        with self._translated("list"):
            return [self._object(b) for b in self.client.list_blobs(self.name, prefix=prefix)]


def split_uri(uri: str) -> tuple[str, str]:
    """Split a model path into its bucket URL and object name.

    ``gs://bucket/a/b.cbm`` → (``gs://bucket``, ``a/b.cbm``); ``file:///dir/a.cbm`` → (``file:///dir``, ``a.cbm``).
    """
    if uri.startswith("gs://"):
        bucket, _, name = uri[len("gs://") :].partition("/")
        return f"gs://{bucket}", name
    if uri.startswith("file://"):
        path = Path(uri[len("file://") :])
        return f"file://{path.parent}", path.name
    raise ConfigError(f"model path {uri!r} is neither gs:// nor file://")


def read_uri(uri: str, max_bytes: int | None = None, buckets: Callable[[str], Bucket] | None = None) -> bytes:
    """The bytes at a model path (gs:// or file://); ``buckets``: the bucket for a URL (a process's
    runtime's, ``Runtime.bucket``, built once), else one opened for this read."""
    bucket_url, name = split_uri(uri)
    data, _ = (buckets or open_bucket)(bucket_url).read(name, max_bytes=max_bytes)
    return data
