"""The file of a charter agreed before the project: recognised by its content (a PDF, an
OpenDocument text or a Word document, up to 10 MB), kept in the archive store under its
organisation and its SHA-256, with its name and kind beside it. The project records only the
name, size, kind and digest; the archive copies the file in when the project ends."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from archive.store import ArchiveStore, organisation_key
from domain.models import CHARTER_FILE_LIMIT, CHARTER_FILE_TYPES, CharterDocument

ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class NotACharterFile(ValueError):
    """Why these bytes are not a charter's file, in words a person can act on."""


def media_type_of(data: bytes) -> str:
    """The file's kind from its content (never from its name): PDF, ODT or DOCX."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                # Read a few bytes only: a crafted archive may expand far beyond its size.
                if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                    with archive.open("mimetype") as kind:
                        if kind.read(100).strip() == ODT.encode():
                            return ODT
                if "word/document.xml" in names:
                    return DOCX
        except (zipfile.BadZipFile, KeyError, OSError):
            pass
    raise NotACharterFile(
        "the charter's file must be a PDF, an OpenDocument text (.odt) or a Word document "
        "(.docx); save it as one of these and send it again"
    )


def _key(organisation: str, sha256: str) -> str:
    return f"charters/{organisation_key(organisation)}/{sha256}"


async def keep(store: ArchiveStore, organisation: str, name: str, data: bytes) -> CharterDocument:
    """Check and keep a charter's file; the same file again gives the same document."""
    if len(data) > CHARTER_FILE_LIMIT:
        raise NotACharterFile(
            f"the charter's file weighs {len(data) / 1024 / 1024:.1f} MB; it may weigh up to "
            f"{CHARTER_FILE_LIMIT // 1024 // 1024} MB (save it compressed, or give its text)"
        )
    if not data:
        raise NotACharterFile("the charter's file is empty; choose the file to send")
    media_type = media_type_of(data)
    sha256 = hashlib.sha256(data).hexdigest()
    clean = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())
    document = CharterDocument(
        name=clean.strip()[:200] or f"charte{CHARTER_FILE_TYPES[media_type]}",
        sha256=sha256,
        size=len(data),
        media_type=media_type,
    )
    await store.put(_key(organisation, sha256), data)
    await store.put(f"{_key(organisation, sha256)}.json", document.model_dump_json().encode())
    return document


async def described(store: ArchiveStore, organisation: str, sha256: str) -> CharterDocument | None:
    raw = await store.get(f"{_key(organisation, sha256)}.json")
    return None if raw is None else CharterDocument.model_validate(json.loads(raw))


async def content(store: ArchiveStore, organisation: str, sha256: str) -> bytes | None:
    """The file's bytes, checked against its digest (None when missing or damaged)."""
    data = await store.get(_key(organisation, sha256))
    if data is None or hashlib.sha256(data).hexdigest() != sha256:
        return None
    return data
