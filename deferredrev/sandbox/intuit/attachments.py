"""Attachable: the multipart upload, reads, queries, download links and delete (reference §10.1, §9).

``POST /upload`` parses ``multipart/form-data`` the way the SDKs send it (reference §10.1, UPL): part names
``file_metadata_X`` / ``file_content_X`` paired by their suffix ``X`` (``01``, ``0``, ``abcde_1``); CRLF or bare LF
line endings, a leading blank line, no closing ``--`` (the .NET SDK), ``Content-Transfer-Encoding: base64`` (the
python-quickbooks client), JSON metadata with python-quickbooks' extras (``"Note": ""``, ``"SyncToken": 0``,
``"EntityRef": {"name": "", "type": ...}``) or the PHP/Ruby SDKs' XML metadata. A content part without metadata
gets an Attachable of its own, named from the part's ``filename=`` (QuickBooks "creates it", ATT).

Defaults where the reference is silent (each named in the package docstring): an unsupported file type or a
``FileName`` over 1000 characters is 400 / 2050-style validation (code ``6000``, the business-validation catch-all);
an ``EntityRef`` to a journal entry that does not exist is 610 "Object Not Found"; only ``JournalEntry`` links are
checked (links to other entity types are stored as given). Ids are long numeric strings, as QuickBooks' are.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import secrets
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from deferredrev.sandbox.intuit.company import Company
from deferredrev.sandbox.intuit.journal import text_field
from deferredrev.sandbox.intuit.wire import QboFault, meta_time

# ATT: the file types QuickBooks accepts (by extension).
ALLOWED_EXTENSIONS = frozenset(
    {"ai", "csv", "doc", "docx", "eps", "gif", "jpeg", "jpg", "ods", "pdf", "png", "rtf", "tif", "txt", "xls", "xlsx", "xml"}
)
CATEGORIES = frozenset({"Contact Photo", "Document", "Image", "Receipt", "Signature", "Sound", "Other"})
MAX_FILE_NAME = 1000
MAX_NOTE = 2000
MAX_REQUEST = 100 * 1024 * 1024
DOWNLOAD_LIFETIME = timedelta(minutes=15)
FIRST_ID = 5000000000000000001
METADATA_FIELDS = frozenset(
    {
        "Id",
        "SyncToken",
        "sparse",
        "domain",
        "MetaData",
        "AttachableRef",
        "FileName",
        "Note",
        "Category",
        "ContentType",
        "Size",
        "FileAccessUri",
        "TempDownloadUri",
        "ThumbnailFileAccessUri",
        "ThumbnailTempDownloadUri",
        "Lat",
        "Long",
        "PlaceName",
        "Tag",
    }
)
REF_FIELDS = frozenset({"EntityRef", "IncludeOnSend", "LineInfo", "Inactive", "NoRefOnly", "CustomField"})
_PART_NAME = re.compile(r"^file_(metadata|content)_(.+)$")
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def disposition(self) -> dict[str, str]:
        return _params(self.headers.get("content-disposition", ""))

    @property
    def name(self) -> str:
        return self.disposition.get("name", "")

    def content(self) -> bytes:
        """The part's bytes, base64-decoded when its Content-Transfer-Encoding says so."""
        if self.headers.get("content-transfer-encoding", "").strip().lower() != "base64":
            return self.body
        try:
            return base64.b64decode(b"".join(self.body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise invalid_upload("the file part says base64 but is not valid base64") from None


@dataclass
class StoredFile:
    content: bytes
    content_type: str


def invalid_upload(detail: str) -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property", f"Invalid upload request: {detail}")


def _params(header: str) -> dict[str, str]:
    """``form-data; name="x"; filename="y"`` → {"name": "x", "filename": "y"} (first value is the type)."""
    params = {"": header.split(";", 1)[0].strip().lower()}
    for match in _PARAM.finditer(header):
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
    return params


def boundary_of(content_type: str | None) -> str:
    params = _params(content_type or "")
    if params[""] != "multipart/form-data":
        raise invalid_upload("Content-Type must be multipart/form-data")
    boundary = params.get("boundary")
    if not boundary:
        raise invalid_upload("the multipart Content-Type has no boundary")
    return boundary


def split_parts(body: bytes, boundary: str) -> list[Part]:
    """The parts of a multipart body, tolerant of LF line endings, a leading blank line, a preamble and a missing
    closing delimiter."""
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 2:
        raise invalid_upload("no part found for the boundary in Content-Type")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter; anything after it is the epilogue
        parts.append(_part(_strip_one_newline(chunk)))
    if not parts:
        raise invalid_upload("the multipart body has no parts")
    return parts


def _strip_one_newline(chunk: bytes) -> bytes:
    """A part between delimiters: the line break after the delimiter line and the one before the next go."""
    for start in (b"\r\n", b"\n"):
        if chunk.startswith(start):
            chunk = chunk[len(start) :]
            break
    else:
        # Transport padding after the delimiter (spaces) up to the line break.
        head, newline, rest = chunk.partition(b"\n")
        if head.strip() == b"" and newline:
            chunk = rest
    for end in (b"\r\n", b"\n"):
        if chunk.endswith(end):
            return chunk[: -len(end)]
    return chunk


def _part(chunk: bytes) -> Part:
    """Headers up to the first blank line (CRLF CRLF or LF LF, whichever comes first), then the body."""
    found = [(index, len(separator)) for separator in (b"\r\n\r\n", b"\n\n") if (index := chunk.find(separator)) >= 0]
    if not found:
        raise invalid_upload("a part has no blank line between its headers and its content")
    index, length = min(found)
    head, body = chunk[:index], chunk[index + length :]
    headers: dict[str, str] = {}
    for raw_line in head.replace(b"\r\n", b"\n").split(b"\n"):
        name, colon, value = raw_line.decode("utf-8", "replace").partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return Part(headers, body)


def pair_parts(parts: list[Part]) -> list[tuple[Part | None, Part]]:
    """(metadata part or None, content part) for each file, in the order the content parts came."""
    metadata: dict[str, Part] = {}
    contents: list[tuple[str, Part]] = []
    for part in parts:
        match = _PART_NAME.match(part.name)
        if match is None:
            raise invalid_upload(f"unexpected part name {part.name!r}; expected file_metadata_N or file_content_N")
        kind, suffix = match.groups()
        if kind == "metadata":
            metadata[suffix] = part
        else:
            contents.append((suffix, part))
    if not contents:
        raise invalid_upload("no file_content part")
    return [(metadata.get(suffix), content) for suffix, content in contents]


def parse_metadata(part: Part) -> dict[str, Any]:
    """The Attachable a metadata part describes, as a JSON-shaped dict (JSON, or the XML the PHP and Ruby SDKs send)."""
    text = part.content().decode("utf-8", "replace").strip()
    if text.startswith("<"):
        return _xml_metadata(text)
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError:
        raise invalid_upload("the metadata part is neither JSON nor XML") from None
    if isinstance(data, dict) and isinstance(data.get("Attachable"), dict):
        data = data["Attachable"]
    if not isinstance(data, dict):
        raise invalid_upload("the metadata part must be an Attachable object")
    return data


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_metadata(text: str) -> dict[str, Any]:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        raise invalid_upload("the metadata part is not well-formed XML") from None
    data: dict[str, Any] = {}
    refs: list[dict[str, Any]] = []
    for child in root:
        name = _local(child.tag)
        if name == "AttachableRef":
            ref: dict[str, Any] = {}
            for item in child:
                if _local(item.tag) == "EntityRef":
                    ref["EntityRef"] = {"type": item.get("type", ""), "value": (item.text or "").strip()}
                elif _local(item.tag) == "IncludeOnSend":
                    ref["IncludeOnSend"] = (item.text or "").strip().lower() == "true"
            refs.append(ref)
        else:
            data[name] = (child.text or "").strip()
    if refs:
        data["AttachableRef"] = refs
    return data


def _links(company: Company, data: dict[str, Any]) -> list[dict[str, Any]]:
    raw = data.get("AttachableRef") or []
    if not isinstance(raw, list):
        raise invalid_upload("AttachableRef must be a list")
    links = []
    for item in raw:
        if not isinstance(item, dict):
            raise invalid_upload("each AttachableRef must be an object")
        for key in item:
            if key not in REF_FIELDS:
                raise QboFault(
                    "2010",
                    "Request has invalid or unsupported property",
                    f'Property Name:Unrecognized field "{key}" (class com.intuit.schema.finance.v3.AttachableRef), '
                    "not marked as ignorable",
                    element=key,
                )
        entity = item.get("EntityRef")
        if not isinstance(entity, dict) or not entity.get("value"):
            raise QboFault("2020", "Required param missing, need to supply the required value for the API",
                           "Required parameter AttachableRef.EntityRef is missing in the request",
                           element="EntityRef")  # fmt: skip
        kind, value = str(entity.get("type") or ""), str(entity["value"])
        if kind.lower() == "journalentry":
            kind = "JournalEntry"
            if value not in company.journal_entries or value in company.deleted_journal_entries:
                raise QboFault("610", "Object Not Found", "Object Not Found : Another user has deleted this transaction.",
                               element="AttachableRef")  # fmt: skip
        links.append({"EntityRef": {"type": kind, "value": value}, "IncludeOnSend": item.get("IncludeOnSend") is True})
    return links


def _check_unknown(data: dict[str, Any]) -> None:
    for key in data:
        if key not in METADATA_FIELDS:
            raise QboFault(
                "2010",
                "Request has invalid or unsupported property",
                f'Property Name:Unrecognized field "{key}" (class com.intuit.schema.finance.v3.Attachable), '
                "not marked as ignorable",
                element=key,
            )


def _check_type(file_name: str) -> None:
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if extension not in ALLOWED_EXTENSIONS:
        raise QboFault(
            "6000",
            "A business validation error has occurred while processing your request",
            f"Business Validation Error: the file type .{extension or '?'} is not supported as an attachment; "
            f"use one of {', '.join(sorted(ALLOWED_EXTENSIONS))}.",
            element="FileName",
        )


def new_id(company: Company) -> str:
    attachable_id = str(FIRST_ID + company.next_attachable_id)
    company.next_attachable_id += 1
    return attachable_id


def create_from_upload(company: Company, metadata: dict[str, Any] | None, content: Part, now: datetime) -> dict[str, Any]:
    """Store one uploaded file and its Attachable; the Attachable as the API shows it."""
    data = dict(metadata or {})
    _check_unknown(data)
    if data.get("Id") not in (None, ""):
        raise QboFault("610", "Object Not Found", "Object Not Found : Another user has deleted this transaction.",
                       element="Id")  # fmt: skip
    file_name = text_field(data, "FileName", MAX_FILE_NAME) or content.disposition.get("filename")
    if not file_name:
        raise QboFault("2020", "Required param missing, need to supply the required value for the API",
                       "Required parameter FileName is missing in the request", element="FileName")  # fmt: skip
    if len(file_name) > MAX_FILE_NAME:
        text_field({"FileName": file_name}, "FileName", MAX_FILE_NAME)
    _check_type(file_name)
    note = text_field(data, "Note", MAX_NOTE)
    category = text_field(data, "Category", 100)
    if category is not None and category not in CATEGORIES:
        raise QboFault("2170", "Invalid Enumeration", f"Invalid enumeration value: {category!r} for Category",
                       element="Category")  # fmt: skip
    links = _links(company, data)
    body = content.content()
    content_type = str(data.get("ContentType") or content.headers.get("content-type") or "application/octet-stream")
    attachable_id = new_id(company)
    stamp = meta_time(now)
    stored: dict[str, Any] = {
        "Id": attachable_id,
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "FileName": file_name,
        "ContentType": content_type,
        "Size": Decimal(len(body)),
        "AttachableRef": links,
        "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
    }
    if note is not None:
        stored["Note"] = note
    if category is not None:
        stored["Category"] = category
    company.attachables[attachable_id] = stored
    company.attachment_files[attachable_id] = StoredFile(body, content_type)
    return copy.deepcopy(stored)


def create_note(company: Company, data: Any, now: datetime) -> dict[str, Any]:
    """``POST /attachable`` without a file: a note (or a link for a file uploaded without metadata)."""
    if not isinstance(data, dict):
        raise invalid_upload("the body must be an Attachable object")
    _check_unknown(data)
    if data.get("Id") not in (None, ""):
        return update(company, data, now)
    note = text_field(data, "Note", MAX_NOTE)
    if note is None:
        raise QboFault("2020", "Required param missing, need to supply the required value for the API",
                       "Required parameter Note is missing in the request", element="Note")  # fmt: skip
    attachable_id = new_id(company)
    stamp = meta_time(now)
    stored = {
        "Id": attachable_id, "SyncToken": "0", "domain": "QBO", "sparse": False, "Note": note,
        "AttachableRef": _links(company, data), "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
    }  # fmt: skip
    company.attachables[attachable_id] = stored
    return copy.deepcopy(stored)


def _existing(company: Company, data: dict[str, Any]) -> dict[str, Any]:
    attachable_id = str(data.get("Id") or "")
    current = company.attachables.get(attachable_id)
    if current is None:
        raise QboFault("610", "Object Not Found", "Object Not Found : Another user has deleted this transaction.")
    if str(data.get("SyncToken", "")) != current["SyncToken"]:
        raise QboFault("5010", "Stale Object Error", "Stale Object Error : You and admin were working on this at the "
                       "same time. admin finished before you did, so your work was not saved.",
                       element="SyncToken")  # fmt: skip
    return current


def update(company: Company, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Note, category and links can change; the file can't (upload a new one)."""
    current = _existing(company, data)
    if "Note" in data:
        note = text_field(data, "Note", MAX_NOTE)
        if note is None:
            current.pop("Note", None)
        else:
            current["Note"] = note
    if "AttachableRef" in data:
        current["AttachableRef"] = _links(company, data)
    current["SyncToken"] = str(int(current["SyncToken"]) + 1)
    current["MetaData"]["LastUpdatedTime"] = meta_time(now)
    return copy.deepcopy(current)


def delete(company: Company, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid_upload("the body must be an Attachable object")
    current = _existing(company, data)
    del company.attachables[current["Id"]]
    company.attachment_files.pop(current["Id"], None)
    return {"status": "Deleted", "domain": "QBO", "Id": current["Id"]}


def read(company: Company, attachable_id: str, download_url: str | None) -> dict[str, Any]:
    current = company.attachables.get(attachable_id)
    if current is None:
        raise QboFault("610", "Object Not Found", "Object Not Found : Something you're trying to use has been made "
                       "inactive. Check the fields with accounts, customers, items, vendors or employees.")  # fmt: skip
    shown = copy.deepcopy(current)
    if download_url is not None and attachable_id in company.attachment_files:
        shown["TempDownloadUri"] = download_url
    return shown


def issue_download(company: Company, attachable_id: str, now: datetime) -> str:
    """A token for a short-lived download link to the file (``GET /download/{id}`` answers the URL as text)."""
    if attachable_id not in company.attachment_files:
        raise QboFault("610", "Object Not Found", "Object Not Found : the attachment has no file")
    token = secrets.token_urlsafe(18)
    company.download_tokens[token] = (attachable_id, now + DOWNLOAD_LIFETIME)
    return token


def redeem_download(company: Company, token: str, now: datetime) -> StoredFile | None:
    found = company.download_tokens.get(token)
    if found is None or now >= found[1]:
        return None
    return company.attachment_files.get(found[0])
