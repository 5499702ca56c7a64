"""A documents service on a throwaway database, served over gRPC on a free port."""

from __future__ import annotations

import grpc
import pytest

from cartable.documents.v1 import documents_pb2_grpc
from kit import migrations
from kit.service import bootstrap, start_grpc
from kit.testing import test_settings
from services.documents.app import spec


@pytest.fixture
def documents_rt(databases, keys, tmp_path):
    url = databases.migrated("documents")
    sp = spec()
    migrations.upgrade(sp.migrations_dir, url)
    settings = test_settings(
        "documents", url, keys, None, BLOB_STORE_URL=f"file://{tmp_path / 'blobs'}", MAX_UPLOAD_BYTES=200_000
    )
    rt = bootstrap(sp, settings)
    yield rt
    rt.db.dispose()


@pytest.fixture
def documents_stub(documents_rt):
    server = start_grpc(documents_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield documents_pb2_grpc.DocumentsServiceStub(channel)
    channel.close()
    server.server.stop(0)
