"""S3 for tests: a real `moto[server]` process on loopback, started once per test session,
reached through django-storages/boto3 exactly as production reaches S3 (moto checks no
signatures; a presigned PUT needs an explicit content type). Each test gets its own bucket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("moto server exited at start") from None
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("moto server did not start in 30 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture
def s3(settings, moto_server):
    """The default storage on a fresh bucket of the moto server, as ORBIT_S3_* would set it."""
    import boto3

    bucket = f"orbit-test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket=bucket)
    settings.ORBIT_S3_BUCKET = bucket
    settings.ORBIT_S3_ENDPOINT_URL = moto_server
    settings.ORBIT_S3_ACCESS_KEY_ID = "test"
    settings.ORBIT_S3_SECRET_ACCESS_KEY = "test"
    settings.ORBIT_S3_REGION = "us-east-1"
    settings.ORBIT_S3_ADDRESSING_STYLE = "path"
    settings.ORBIT_S3_SIGNED_URL_SECONDS = 60
    from orbit.settings import s3_storage_options

    options = s3_storage_options(bucket) | {
        "endpoint_url": moto_server, "access_key": "test", "secret_key": "test", "querystring_expire": 60,
    }
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}
    return bucket


@pytest.fixture
def media(settings, tmp_path):
    """The default storage on a fresh local folder (the development default)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}},
    }
    return tmp_path / "media"
