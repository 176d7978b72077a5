"""Files kept for a short while under the instance folder, named by random tokens.

Used for a roster upload and a take-away package to import between preview and
confirmation, and for generated files
(login slips with initial passwords) that their maker downloads once. Each file sits
beside a small JSON record of who made it and when; only that user gets it back, and
only within `max_age` seconds.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import IO

from flask import current_app


class TokenFiles:
    subfolder = "token-files"
    max_age = 3600

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder or os.path.join(current_app.instance_path, self.subfolder))

    def _paths(self, token: str) -> tuple[Path, Path]:
        if not token or len(token) > 64 or not all(c.isalnum() or c in "-_" for c in token):
            raise KeyError(token)
        return self.folder / f"{token}.bin", self.folder / f"{token}.json"

    def put(self, data: bytes, *, user_id: int, **meta) -> str:
        """Store `data` for `user_id`; returns the token that names it."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.purge()
        token = secrets.token_urlsafe(24)
        data_path, meta_path = self._paths(token)
        record = json.dumps({**meta, "user_id": user_id, "created": time.time()}).encode()
        for path, content in ((data_path, data), (meta_path, record)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
        return token

    def put_stream(self, stream: IO[bytes], *, user_id: int, **meta) -> str:
        """Store what `stream` holds, copied in chunks (a large upload never sits in
        memory whole); returns the token that names it."""
        token = self.put(b"", user_id=user_id, **meta)
        with self._paths(token)[0].open("wb") as fh:
            shutil.copyfileobj(stream, fh, 1024 * 1024)
        return token

    def path(self, token: str, *, user_id: int) -> Path | None:
        """Where the file is, if it exists, is fresh and belongs to the user."""
        if self.meta(token, user_id=user_id) is None:
            return None
        path = self._paths(token)[0]
        return path if path.is_file() else None

    def update(self, token: str, *, user_id: int, **meta) -> None:
        """Add to the record of a file of the user (e.g. what a check found)."""
        record = self.meta(token, user_id=user_id)
        if record is None:
            raise KeyError(token)
        self._paths(token)[1].write_text(json.dumps({**record, **meta}))

    def meta(self, token: str, *, user_id: int) -> dict | None:
        """The record if the file exists, is fresh and belongs to the user."""
        try:
            meta = json.loads(self._paths(token)[1].read_text())
        except (KeyError, OSError, ValueError):
            return None
        if meta.get("user_id") != user_id or time.time() - meta.get("created", 0) > self.max_age:
            return None
        return meta

    def read(self, token: str, *, user_id: int) -> tuple[bytes, dict] | None:
        meta = self.meta(token, user_id=user_id)
        if meta is None:
            return None
        try:
            return self._paths(token)[0].read_bytes(), meta
        except OSError:
            return None

    def delete(self, token: str) -> None:
        try:
            for path in self._paths(token):
                path.unlink(missing_ok=True)
        except KeyError:
            pass

    def purge(self) -> None:
        """Remove files older than max_age."""
        if not self.folder.exists():
            return
        limit = time.time() - self.max_age
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
            except OSError:
                pass
