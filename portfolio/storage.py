"""Where uploaded files live. The local folder is the default; the interface is small
so that an S3-compatible store can take its place in a larger installation."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

from flask import current_app


class Storage(Protocol):
    def save(self, data: bytes) -> str: ...
    def read(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def path(self, key: str) -> Path | None: ...


class LocalStorage:
    """Files under one folder, named by random keys (never by the user's file name)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _file(self, key: str) -> Path:
        if not key or not all(c.isalnum() or c in "-_" for c in key):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    def save(self, data: bytes) -> str:
        key = secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return key

    def read(self, key: str) -> bytes:
        return self._file(key).read_bytes()

    def delete(self, key: str) -> None:
        try:
            self._file(key).unlink()
        except FileNotFoundError:
            pass

    def path(self, key: str) -> Path | None:
        return self._file(key)


def get_storage() -> Storage:
    app = current_app
    storage = app.extensions.get("portfolio_storage")
    if storage is None:
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        app.extensions["portfolio_storage"] = storage
    return storage
