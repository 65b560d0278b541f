"""Attachable in the sandbox: the multipart upload as each SDK sends it, queries on links, reads, downloads, delete."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from deferredrev.sandbox.intuit import US_REALM, IntuitSandbox
from deferredrev.sandbox.intuit.attachments import Part, pair_parts, split_parts
from tests.sandbox.test_intuit_journal import JE_PATH, entry

UPLOAD = f"/v3/company/{US_REALM}/upload"
QUERY = f"/v3/company/{US_REALM}/query"
CSV = b"contract_id,amount\nC-1,12.50\n"


def journal_entry(qbo_api: httpx.Client, doc: str = "REVREC-2026-03") -> str:
    response = qbo_api.post(JE_PATH, json=entry(DocNumber=doc))
    assert response.status_code == 200, response.text
    return str(response.json()["JournalEntry"]["Id"])


def metadata(entity_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "AttachableRef": [{"EntityRef": {"type": "JournalEntry", "value": entity_id}, "IncludeOnSend": False}],
        "FileName": "je.csv",
        "ContentType": "text/csv",
        **extra,
    }


def crlf_body(meta: dict[str, Any] | None, content: bytes, boundary: str = "XyZ", suffix: str = "01") -> bytes:
    parts = []
    if meta is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file_metadata_{suffix}"\r\n'
            f"Content-Type: application/json\r\n\r\n{json.dumps(meta)}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file_content_{suffix}"; filename="je.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def upload(qbo_api: httpx.Client, body: bytes, boundary: str = "XyZ", **params: str) -> httpx.Response:
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return qbo_api.post(UPLOAD, content=body, headers=headers, params=params)


def attachable_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["AttachableResponse"][0]
    assert "Attachable" in item, item
    return dict(item["Attachable"])


def test_upload_links_the_file_to_the_journal_entry(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    je = journal_entry(qbo_api)
    body = attachable_of(upload(qbo_api, crlf_body(metadata(je), CSV)))
    assert body["FileName"] == "je.csv" and body["ContentType"] == "text/csv" and body["Size"] == len(CSV)
    assert body["AttachableRef"] == [{"EntityRef": {"type": "JournalEntry", "value": je}, "IncludeOnSend": False}]
    assert len(body["Id"]) > 10 and body["SyncToken"] == "0" and "CreateTime" in body["MetaData"]
    assert intuit.attachment_content(US_REALM, body["Id"]) == CSV


def test_python_quickbooks_body_lf_base64_and_a_leading_blank_line(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    je = journal_entry(qbo_api)
    meta = metadata(je, Note="", SyncToken=0, sparse=False, domain="QBO")
    meta["AttachableRef"][0]["EntityRef"]["name"] = ""
    meta["AttachableRef"][0]["CustomField"] = []
    boundary = "-------------PythonMultipartPost"
    body = (
        f'\n--{boundary}\nContent-Disposition: form-data; name="file_metadata_01"\nContent-Type: application/json\n\n'
        f'{json.dumps(meta, indent=4)}\n\n--{boundary}\nContent-Disposition: form-data; name="file_content_01"\n'
        f"Content-Type: text/csv\nContent-Transfer-Encoding: base64\n\n{base64.b64encode(CSV).decode()}\n\n"
        f"--{boundary}--\n"
    ).encode()
    attachable = attachable_of(upload(qbo_api, body, boundary))
    assert intuit.attachment_content(US_REALM, attachable["Id"]) == CSV
    assert "Note" not in attachable  # an empty note is no note


def test_dotnet_body_without_closing_delimiter_and_raw_binary(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    je = journal_entry(qbo_api)
    binary = bytes(range(256)) + b"\r\n\r\n--not-the-boundary\r\n"
    meta = metadata(je, FileName="chart.png", ContentType="image/png")
    body = crlf_body(meta, binary, suffix="0").removesuffix(b"--XyZ--\r\n")
    attachable = attachable_of(upload(qbo_api, body))
    assert intuit.attachment_content(US_REALM, attachable["Id"]) == binary


def test_xml_metadata_as_the_php_and_ruby_sdks_send_it(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    je = journal_entry(qbo_api)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><Attachable xmlns="http://schema.intuit.com/finance/v3">'
        f'<AttachableRef><EntityRef type="JournalEntry">{je}</EntityRef><IncludeOnSend>false</IncludeOnSend>'
        "</AttachableRef><FileName>je.csv</FileName><ContentType>text/csv</ContentType></Attachable>"
    )
    body = (
        f'--XyZ\r\nContent-Disposition: form-data; name="file_metadata_0"\r\nContent-Type: application/xml\r\n\r\n{xml}\r\n'
    ).encode() + crlf_body(None, CSV, suffix="0")
    attachable = attachable_of(upload(qbo_api, body))
    assert attachable["AttachableRef"][0]["EntityRef"] == {"type": "JournalEntry", "value": je}


def test_a_file_without_metadata_gets_an_unlinked_attachable(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    attachable = attachable_of(upload(qbo_api, crlf_body(None, CSV)))
    assert attachable["FileName"] == "je.csv" and attachable["AttachableRef"] == []


@pytest.mark.parametrize(
    ("meta", "code"),
    [
        ({"FileName": "run.exe"}, "6000"),
        ({"FileName": "x" * 1001 + ".csv"}, "2050"),
        ({"Unknown": 1}, "2010"),
        ({"Category": "Spreadsheet"}, "2170"),
    ],
)
def test_refused_files_answer_a_fault_item(qbo_api: httpx.Client, meta: dict[str, Any], code: str) -> None:
    je = journal_entry(qbo_api)
    response = upload(qbo_api, crlf_body(metadata(je, **meta), CSV))
    assert response.status_code == 200
    item = response.json()["AttachableResponse"][0]
    assert "Attachable" not in item and item["Fault"]["Error"][0]["code"] == code


def test_a_link_to_a_missing_journal_entry_is_object_not_found(qbo_api: httpx.Client) -> None:
    item = upload(qbo_api, crlf_body(metadata("999"), CSV)).json()["AttachableResponse"][0]
    assert item["Fault"]["Error"][0]["code"] == "610"


def test_a_body_that_is_not_multipart_is_refused(qbo_api: httpx.Client) -> None:
    response = qbo_api.post(UPLOAD, content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["Fault"]["Error"][0]["code"] == "2010"


def test_query_by_link_read_download_and_delete(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    first, second = journal_entry(qbo_api, "A-1"), journal_entry(qbo_api, "A-2")
    mine = attachable_of(upload(qbo_api, crlf_body(metadata(first), CSV)))
    attachable_of(upload(qbo_api, crlf_body(metadata(second), b"other")))
    sql = (
        "SELECT * FROM Attachable WHERE AttachableRef.EntityRef.Type = 'JournalEntry' "
        f"AND AttachableRef.EntityRef.value = '{first}'"
    )
    found = qbo_api.get(QUERY, params={"query": sql}).json()["QueryResponse"]
    assert [a["Id"] for a in found["Attachable"]] == [mine["Id"]] and found["maxResults"] == 1
    count = qbo_api.post(QUERY, content=b"select count(*) from attachable", headers={"Content-Type": "application/text"})
    assert count.json()["QueryResponse"]["totalCount"] == 2

    read = qbo_api.get(f"/v3/company/{US_REALM}/attachable/{mine['Id']}").json()["Attachable"]
    assert read["FileName"] == "je.csv"
    assert httpx.get(read["TempDownloadUri"]).content == CSV
    link = qbo_api.get(f"/v3/company/{US_REALM}/download/{mine['Id']}")
    assert link.status_code == 200 and link.headers["content-type"].startswith("text/plain")
    assert httpx.get(link.text).content == CSV
    intuit.clock.advance(timedelta(minutes=16))
    assert httpx.get(link.text).status_code == 403  # the link lives 15 minutes

    gone = qbo_api.post(
        f"/v3/company/{US_REALM}/attachable", params={"operation": "delete"}, json={"Id": mine["Id"], "SyncToken": "0"}
    )
    assert gone.json()["Attachable"] == {"status": "Deleted", "domain": "QBO", "Id": mine["Id"]}
    assert qbo_api.get(QUERY, params={"query": sql}).json()["QueryResponse"] == {}


def test_requestid_replays_an_upload_instead_of_storing_it_twice(intuit: IntuitSandbox, qbo_api: httpx.Client) -> None:
    je = journal_entry(qbo_api)
    body = crlf_body(metadata(je), CSV)
    first = attachable_of(upload(qbo_api, body, requestid="evidence-1"))
    again = attachable_of(upload(qbo_api, body, requestid="evidence-1"))
    assert first == again and len(intuit.attachables(US_REALM)) == 1


def test_parts_pair_by_suffix_in_any_order() -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file_content_abcde_1"; filename="a.csv"\r\n\r\nA\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file_metadata_abcde_1"\r\n\r\n{}\r\n--b--'
    )
    pairs = pair_parts(split_parts(body, "b"))
    assert [(meta.body if meta else None, content.body) for meta, content in pairs] == [(b"{}", b"A")]
    assert isinstance(pairs[0][1], Part) and pairs[0][1].disposition["filename"] == "a.csv"
