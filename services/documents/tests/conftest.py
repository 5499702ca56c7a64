"""A documents service on a throwaway database, served over gRPC on a free port."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from sqlalchemy import select

from cartable.documents.v1 import documents_pb2_grpc
from cartable.privacy.v1 import privacy_pb2_grpc
from kit.service import bootstrap, start_grpc
from kit.testing import test_settings
from services.documents.app import spec


@pytest.fixture
def documents_rt(databases, keys, tmp_path):
    url = databases.migrated("documents")
    sp = spec()
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
    server.stop(0)


@pytest.fixture
def stubs(documents_rt):
    """Every service the documents server serves, on one channel (a family's data, issue #21)."""
    from services.documents.tests.integration.family_helpers import Stubs

    server = start_grpc(documents_rt, "127.0.0.1:0")
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    yield Stubs(
        documents_pb2_grpc.DocumentsServiceStub(channel),
        privacy_pb2_grpc.FamilyDataServiceStub(channel),
        privacy_pb2_grpc.DataExportServiceStub(channel),
    )
    channel.close()
    server.stop(0)


def snapshot(rt) -> dict[str, list]:
    """Every row of every table of the service (outbox and inbox included) and every file of the blob
    store: equal before and after a call when the call wrote nothing."""
    with rt.db.unit_of_work() as s:
        rows: dict[str, list] = {
            t.name: sorted((tuple(r) for r in s.execute(select(t))), key=repr)
            for t in rt.spec.metadata.sorted_tables
        }
    root = Path(rt.settings.blob_store_url.removeprefix("file://"))
    rows["blob files"] = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return rows
