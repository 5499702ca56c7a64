"""The S3 blob store against a local S3-compatible server (moto's, on a free port of 127.0.0.1): the
same boto3 calls, HTTP requests and XML answers as against a real bucket."""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from services.documents.blobstore import S3BlobStore, open_blob_store

BUCKET = "cartable-blobs"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    """A fresh bucket; credentials from the AWS environment variables, as in production."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-1")
    name = f"{BUCKET}-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    yield client, name
    for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=obj["Key"])
    client.delete_bucket(Bucket=name)


def keys_in(client, name: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])]


def test_a_file_put_under_the_prefix_reads_back_with_its_type_and_is_gone_once_deleted(s3_endpoint, bucket):
    client, name = bucket
    store = open_blob_store(f"s3://{name}/school-1/docs?endpoint={s3_endpoint}&region=eu-west-1")
    assert isinstance(store, S3BlobStore)
    key = f"0f/{uuid.uuid4()}.jpg"
    store.put(key, b"\xff\xd8 photo bytes", "image/jpeg")

    assert keys_in(client, name) == [f"school-1/docs/{key}"]
    head = client.head_object(Bucket=name, Key=f"school-1/docs/{key}")
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(b"\xff\xd8 photo bytes")
    assert store.get(key) == b"\xff\xd8 photo bytes"

    store.put(key, b"replaced", "image/jpeg")
    assert store.get(key) == b"replaced"
    store.delete(key)
    assert keys_in(client, name) == []
    store.delete(key)  # S3 answers a delete of a missing key with success, like the directory store


def test_without_a_prefix_keys_sit_at_the_bucket_root(s3_endpoint, bucket):
    client, name = bucket
    store = open_blob_store(f"s3://{name}?endpoint={s3_endpoint}&region=eu-west-1")
    key = f"a1/{uuid.uuid4()}"
    store.put(key, b"%PDF-1.7", "application/pdf")
    assert keys_in(client, name) == [key]
    assert store.get(key) == b"%PDF-1.7"


def test_a_key_the_service_did_not_make_never_reaches_the_bucket(s3_endpoint, bucket):
    client, name = bucket
    store = open_blob_store(f"s3://{name}/p?endpoint={s3_endpoint}&region=eu-west-1")
    for key in ("../other-school/x", "p/../../x", "0f/not-a-uuid"):
        with pytest.raises(ValueError, match="invalid blob key"):
            store.put(key, b"x", "text/plain")
        with pytest.raises(ValueError, match="invalid blob key"):
            store.get(key)
    assert keys_in(client, name) == []


def test_a_range_of_a_file_reads_those_bytes_only(s3_endpoint, bucket):
    _client, name = bucket
    store = open_blob_store(f"s3://{name}/exports?endpoint={s3_endpoint}&region=eu-west-1")
    key = f"ff/{uuid.uuid4()}.zip"
    data = bytes(range(256)) * 4
    store.put(key, data, "application/zip")
    assert store.get_range(key, 0, 100) == data[:100]
    assert store.get_range(key, 1000, 100) == data[1000:]  # fewer at the end
    assert store.get_range(key, 1024, 100) == b""  # none past it
