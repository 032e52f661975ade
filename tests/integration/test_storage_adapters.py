"""The object store adapters: a local directory and S3 (moto), behind one port."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from alchemiser.storage.local import LocalObjectStore, ObjectKeyError, check_object_key
from alchemiser.storage.port import ObjectStore
from alchemiser.storage.s3 import S3ObjectStore

BUCKET = "alchemiser-reports-test"
REGION = "us-east-1"
BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside.txt",
    "reports/../../outside.txt",
    "reports/./run.html",
    "reports//run.html",
    "reports/",
    "reports\\run.html",
    "nul\x00byte",
]


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    client = request.getfixturevalue("s3_client")
    return S3ObjectStore(BUCKET, "runs/", client)


# -- both adapters -------------------------------------------------------------------


def test_stored_bytes_come_back_unchanged(store: ObjectStore) -> None:
    # Given bytes stored under a nested key
    data = "report for cycle-2026-07-31 — ünïcode\n".encode() + bytes(range(256))
    where = store.put_bytes("reports/2026-07-31/cycle.html", data, "text/html")

    # When they are read back
    # Then they are the same bytes, and the store says where they live
    assert store.get_bytes("reports/2026-07-31/cycle.html") == data
    assert where == store.locate("reports/2026-07-31/cycle.html")


def test_writing_a_key_again_replaces_its_object(store: ObjectStore) -> None:
    store.put_bytes("trace.json", b'{"v": 1}', "application/json")
    store.put_bytes("trace.json", b'{"v": 2}', "application/json")
    assert store.get_bytes("trace.json") == b'{"v": 2}'


def test_missing_key_raises_file_not_found_naming_the_key(store: ObjectStore) -> None:
    with pytest.raises(FileNotFoundError, match=r"no object 'reports/none\.html'"):
        store.get_bytes("reports/none.html")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_that_are_not_plain_relative_paths_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ObjectKeyError, match="object key must be a relative path"):
        store.put_bytes(key, b"x", "text/plain")
    with pytest.raises(ObjectKeyError):
        store.get_bytes(key)


# -- local -----------------------------------------------------------------------------


def test_local_store_writes_files_under_its_root(tmp_path: Path) -> None:
    # Given a local store
    store = LocalObjectStore(tmp_path / "home")

    # When an object is stored
    where = store.put_bytes("reports/run.html", b"<html></html>", "text/html")

    # Then it is a file under the root, and no temporary file is left beside it
    assert where == str(tmp_path / "home" / "reports" / "run.html")
    assert Path(where).read_bytes() == b"<html></html>"
    assert [p.name for p in (tmp_path / "home" / "reports").iterdir()] == ["run.html"]


def test_local_store_refuses_a_symlink_that_leads_out_of_the_root(tmp_path: Path) -> None:
    # Given a directory inside the root that is a link to a directory outside it
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "home"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    store = LocalObjectStore(root)

    # When a key goes through the link
    # Then it is refused and nothing is written outside
    with pytest.raises(ObjectKeyError, match="resolves outside the store root"):
        store.put_bytes("link/escape.txt", b"x", "text/plain")
    assert list(outside.iterdir()) == []


def test_local_readers_never_see_a_partly_written_object(tmp_path: Path) -> None:
    # Given writers that keep replacing one object with large uniform blobs
    store = LocalObjectStore(tmp_path)
    size = 200_000
    store.put_bytes("big.bin", bytes([0]) * size, "application/octet-stream")

    def write(value: int) -> None:
        for _ in range(10):
            store.put_bytes("big.bin", bytes([value]) * size, "application/octet-stream")

    def read(_: int) -> list[bytes]:
        return [store.get_bytes("big.bin") for _ in range(40)]

    # When they run concurrently with readers
    with ThreadPoolExecutor(max_workers=8) as pool:
        writers = [pool.submit(write, value) for value in range(1, 5)]
        readers = [pool.submit(read, n) for n in range(4)]
        seen = [blob for reader in readers for blob in reader.result()]
        for writer in writers:
            writer.result()

    # Then every read is one whole blob: `size` copies of a single byte
    assert len(seen) == 160
    assert all(blob == blob[:1] * size for blob in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4).map("/".join))
def test_every_accepted_key_stays_inside_the_root(key: str) -> None:
    # Given any key the store accepts
    try:
        check_object_key(key)
    except ObjectKeyError:
        return
    # Then its path is inside the root
    root = Path("/srv/alchemiser/store")
    path = Path(LocalObjectStore(root).locate(key))
    assert path.is_relative_to(root)
    assert ".." not in path.relative_to(root).parts


# -- S3 ----------------------------------------------------------------------------------


def test_s3_store_puts_objects_under_its_prefix_with_their_content_type(s3_client: object) -> None:
    # Given a store on a prefix written without its trailing slash
    store = S3ObjectStore(BUCKET, "/runs", s3_client)  # type: ignore[arg-type]

    # When an object is stored
    where = store.put_bytes("reports/run.html", b"<html></html>", "text/html; charset=utf-8")

    # Then it is at s3://bucket/runs/<key>, with its content type
    assert where == f"s3://{BUCKET}/runs/reports/run.html"
    head = s3_client.head_object(Bucket=BUCKET, Key="runs/reports/run.html")  # type: ignore[attr-defined]
    assert head["ContentType"] == "text/html; charset=utf-8"


def test_s3_store_without_prefix_uses_the_key_as_it_is(s3_client: object) -> None:
    store = S3ObjectStore(BUCKET, "", s3_client)  # type: ignore[arg-type]
    assert store.put_bytes("a/b.txt", b"x", "text/plain") == f"s3://{BUCKET}/a/b.txt"


def test_s3_errors_other_than_a_missing_key_are_not_hidden(s3_client: object) -> None:
    # Given a store on a bucket that does not exist
    store = S3ObjectStore("no-such-bucket-here", "", s3_client)  # type: ignore[arg-type]
    # When an object is read
    # Then S3's own error comes through (it is not a missing object)
    with pytest.raises(ClientError, match="NoSuchBucket"):
        store.get_bytes("a.txt")


def test_s3_store_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="bucket must name an S3 bucket"):
        S3ObjectStore("", "runs/", client=None)  # type: ignore[arg-type]
