"""The archive of a family's data (issue #21): which part names may go in it, the names of files
inside it, the manifest and the ZIP itself."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

from services.documents.domain.archive import ArchiveFile, build_zip, part_name_problems, zip_entry_name

AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def test_parts_are_service_files_and_never_documents_own_the_manifest_a_path_out_or_a_name_twice():
    names = [
        "auth/account.json",
        "finance/2026/wallets.json",
        "documents/documents.json",
        "manifest.json",
        "../auth.json",
        "auth/../../x",
        "/auth/x.json",
        "auth\\x.json",
        "auth",
        "auth/account.json",
    ]
    problems = part_name_problems(names)
    assert sorted(problems) == [f"parts[{i}]" for i in range(2, 10)]
    assert "given twice" in problems["parts[9]"] and "documents writes it" in problems["parts[2]"]


def test_a_file_name_inside_the_archive_has_no_directory_in_it():
    assert zip_entry_name("../../etc/passwd") == "_.._etc_passwd"
    assert zip_entry_name("a\\b.pdf") == "a_b.pdf"
    assert zip_entry_name("...") == "file"


def test_the_zip_is_deflated_and_ends_with_a_manifest_of_every_file_and_service():
    files = [
        ArchiveFile("orders/orders.json", b'[{"total_cents": 450}]', "application/json"),
        ArchiveFile("auth/account.json", '{"name": "Zoé"}'.encode(), "application/json"),
    ]
    data = build_zip(files, AT, export_id="e-1")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["auth/account.json", "orders/orders.json", "manifest.json"]
        assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}
        assert infos[0].date_time == (2026, 12, 3, 9, 30, 0)
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("auth/account.json") == files[1].content
    assert manifest == {
        "export_id": "e-1",
        "generated_at": AT.isoformat(),
        "services": ["auth", "orders"],
        "files": [
            {
                "name": "auth/account.json",
                "content_type": "application/json",
                "size_bytes": len(files[1].content),
            },
            {"name": "orders/orders.json", "content_type": "application/json", "size_bytes": 22},
        ],
    }
