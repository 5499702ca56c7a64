"""The directory blob store and the store chosen from BLOB_STORE_URL (the S3 one: integration tests)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from services.documents.blobstore import DirectoryBlobStore, open_blob_store


def new_key(suffix: str = "") -> str:
    return f"ab/{uuid.uuid4()}{suffix}"


def test_a_file_written_reads_back_and_is_gone_once_deleted(tmp_path):
    store = DirectoryBlobStore(tmp_path)
    key = new_key(".jpg")
    store.put(key, b"\xff\xd8 bytes", "image/jpeg")
    assert store.get(key) == b"\xff\xd8 bytes"
    assert (tmp_path / key).read_bytes() == b"\xff\xd8 bytes"
    store.delete(key)
    with pytest.raises(FileNotFoundError):
        store.get(key)
    store.delete(key)  # deleting what is gone is not an error


def test_writing_again_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    store = DirectoryBlobStore(tmp_path)
    key = new_key()
    store.put(key, b"first", "application/pdf")
    store.put(key, b"second", "application/pdf")
    assert store.get(key) == b"second"
    assert [p.name for p in (tmp_path / "ab").iterdir()] == [key.split("/")[1]]


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "ab/../../x",
        "AB/7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "ab/not-a-uuid",
        "",
    ],
)
def test_a_key_the_service_did_not_make_is_refused_before_any_file_is_touched(tmp_path, key):
    store = DirectoryBlobStore(tmp_path / "root")
    for call in (
        lambda: store.put(key, b"x", "text/plain"),
        lambda: store.get(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(ValueError, match="invalid blob key"):
            call()
    assert not (tmp_path / "root").exists()


def test_the_url_picks_the_store(tmp_path):
    store = open_blob_store(f"file://{tmp_path}/blobs")
    assert isinstance(store, DirectoryBlobStore)
    assert store.root == tmp_path / "blobs"
    with pytest.raises(ValueError, match="unsupported BLOB_STORE_URL"):
        open_blob_store("ftp://example.org/blobs")


def test_boto3_is_imported_only_when_an_s3_store_is_opened(tmp_path):
    # In a fresh interpreter: other tests of this process may have imported boto3 already.
    code = (
        "import sys; from services.documents.blobstore import open_blob_store; "
        f"open_blob_store('file://{tmp_path}/b'); print('boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_range_of_a_stored_file_reads_those_bytes_only(tmp_path):
    store = DirectoryBlobStore(tmp_path)
    data = bytes(range(256)) * 4
    key = new_key(".zip")
    store.put(key, data, "application/zip")
    assert store.get_range(key, 0, 100) == data[:100]
    assert store.get_range(key, 1000, 100) == data[1000:]  # fewer at the end
    assert store.get_range(key, 1024, 100) == b""  # none past it
