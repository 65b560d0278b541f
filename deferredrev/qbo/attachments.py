"""Attachments (QuickBooks' Attachable): the upload request and the objects it answers with (reference §10.1).

Pure: :func:`multipart_body` builds the ``multipart/form-data`` body of ``POST /upload`` (a JSON metadata part
``file_metadata_0`` linking the file to its transaction, and the file itself as ``file_content_0``, raw bytes, CRLF
line endings); :class:`Attachable` reads what QuickBooks answers or a query returns. The boundary is derived from a
key (the caller's requestid), so a repeat of the same upload is the same bytes: QuickBooks' requestid replay then
matches it exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["MAX_FILE_NAME", "Attachable", "AttachmentUpload", "boundary_for", "multipart_body"]

MAX_FILE_NAME = 1000
MAX_NOTE = 2000


@dataclass(frozen=True)
class AttachmentUpload:
    """One file to upload, linked to one transaction (``entity_type`` such as ``JournalEntry``, and its id)."""

    file_name: str
    content: bytes
    content_type: str
    entity_type: str
    entity_id: str
    note: str | None = None

    def __post_init__(self) -> None:
        if not self.file_name or len(self.file_name) > MAX_FILE_NAME or any(c in self.file_name for c in '"\r\n'):
            raise ValueError(f"an attachment's file name must be 1 to {MAX_FILE_NAME} characters without quotes")
        if self.note is not None and len(self.note) > MAX_NOTE:
            raise ValueError(f"an attachment's note must be at most {MAX_NOTE} characters")
        if not self.entity_type or not self.entity_id or "\r" in self.content_type or "\n" in self.content_type:
            raise ValueError("an attachment needs the type and id of the transaction it is attached to")

    def metadata(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "AttachableRef": [{"EntityRef": {"type": self.entity_type, "value": self.entity_id}, "IncludeOnSend": False}],
            "FileName": self.file_name,
            "ContentType": self.content_type,
        }
        if self.note:
            body["Note"] = self.note
        return body


def boundary_for(key: str) -> str:
    """A multipart boundary that is the same for the same ``key`` and can't plausibly occur inside a file."""
    return "deferredrev-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def multipart_body(upload: AttachmentUpload, boundary: str) -> bytes:
    """``POST /upload``'s body: the metadata part, then the file, CRLF line endings (RFC 7578)."""
    if boundary.encode("ascii") in upload.content:
        raise ValueError("the multipart boundary occurs in the file")
    metadata = json.dumps(upload.metadata(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    crlf = b"\r\n"
    delimiter = b"--" + boundary.encode("ascii")
    return b"".join(
        [
            delimiter, crlf,
            b'Content-Disposition: form-data; name="file_metadata_0"', crlf,
            b"Content-Type: application/json; charset=UTF-8", crlf, crlf,
            metadata, crlf,
            delimiter, crlf,
            b'Content-Disposition: form-data; name="file_content_0"; filename="',
            upload.file_name.encode("utf-8"), b'"', crlf,
            b"Content-Type: ", upload.content_type.encode("ascii"), crlf, crlf,
            upload.content, crlf,
            delimiter, b"--", crlf,
        ]
    )  # fmt: skip


@dataclass(frozen=True)
class Attachable:
    id: str
    sync_token: str
    file_name: str | None
    note: str | None
    content_type: str | None
    size: int | None
    links: tuple[tuple[str, str], ...]  # (entity type, entity id)
    temporary_download_url: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Attachable:
        links = []
        for ref in data.get("AttachableRef") or ():
            entity = ref.get("EntityRef") if isinstance(ref, Mapping) else None
            if isinstance(entity, Mapping) and entity.get("value") not in (None, ""):
                links.append((str(entity.get("type") or ""), str(entity["value"])))
        return cls(
            id=str(data["Id"]),
            sync_token=str(data.get("SyncToken", "0")),
            file_name=_opt(data.get("FileName")),
            note=_opt(data.get("Note")),
            content_type=_opt(data.get("ContentType")),
            size=_size(data.get("Size")),
            links=tuple(links),
            temporary_download_url=_opt(data.get("TempDownloadUri")),
        )

    def links_to(self, entity_type: str, entity_id: str) -> bool:
        return any(kind.lower() == entity_type.lower() and value == entity_id for kind, value in self.links)


def _opt(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _size(value: Any) -> int | None:
    try:
        return int(Decimal(str(value))) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None
