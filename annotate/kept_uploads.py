"""Files uploaded to a refused import, kept on the server for the retry, so that a person
fixing one file does not have to choose the others again.

Each refused form's files go in a folder named by a random token. The page carries the token
signed together with the user's id: no one can reuse another person's files, and a token
older than MAX_AGE is refused. Folders older than that are removed whenever files are kept.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.utils.text import get_valid_filename

SALT = "neuronjudge.kept-uploads"
MAX_AGE = 24 * 3600
TOKEN = re.compile(r"^[0-9a-f]{32}$")


def kept_root() -> Path:
    return Path(settings.NEURONJUDGE_KEPT_UPLOADS_DIR)


class KeptUploads:
    """One form's kept files, one folder per form field holding that field's file."""

    def __init__(self, token: str):
        self.token = token
        self.folder = kept_root() / token
        self.opened: list[File] = []

    def signed(self, user) -> str:
        return signing.dumps({"token": self.token, "user": user.pk}, salt=SALT)

    def names(self) -> dict[str, str]:
        """File name by form field."""
        if not self.folder.is_dir():
            return {}
        return {
            field.name: next(field.iterdir()).name
            for field in sorted(self.folder.iterdir())
            if field.is_dir() and any(field.iterdir())
        }

    def files(self, fields) -> dict[str, File]:
        """The kept files of `fields`, opened (closed by `close`)."""
        found = {}
        for field, name in self.names().items():
            if field in fields:
                handle = File(open(self.folder / field / name, "rb"), name=name)  # noqa: SIM115
                self.opened.append(handle)
                found[field] = handle
        return found

    def keep(self, field: str, upload) -> None:
        """Keep `upload` for `field`, replacing what was kept for it."""
        self.forget(field)
        target = self.folder / field
        target.mkdir(parents=True)
        name = get_valid_filename(Path(upload.name or field).name) or field
        with open(target / name, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)

    def forget(self, field: str) -> None:
        """Drop the file kept for `field`, one of the form's file fields."""
        shutil.rmtree(self.folder / field, ignore_errors=True)

    def close(self) -> None:
        for handle in self.opened:
            handle.close()
        self.opened.clear()

    def delete(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def access_kept_uploads(user, signed: str) -> KeptUploads | None:
    """The files kept under `signed`, or None when it is missing, forged, another user's or
    expired."""
    if not signed:
        return None
    try:
        value = signing.loads(signed, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("user") != user.pk:
        return None
    token = str(value.get("token", ""))
    kept = KeptUploads(token) if TOKEN.match(token) else None
    return kept if kept is not None and kept.folder.is_dir() else None


def do_keep_uploads(kept: KeptUploads | None, uploads: dict) -> KeptUploads:
    """Keep `uploads` (by form field) beside the files already kept, in a new folder when
    there is none; removes folders past MAX_AGE."""
    _remove_expired()
    kept = kept or KeptUploads(secrets.token_hex(16))
    kept.folder.mkdir(parents=True, exist_ok=True)
    for field, upload in uploads.items():
        kept.keep(field, upload)
    return kept


def _remove_expired() -> None:
    root = kept_root()
    if not root.is_dir():
        return
    cutoff = time.time() - MAX_AGE
    for folder in root.iterdir():
        if folder.is_dir() and TOKEN.match(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
