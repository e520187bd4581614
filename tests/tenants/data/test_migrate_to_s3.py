"""`storage migrate-to-s3`: local files to the bucket, same names, verified, resumable."""

from __future__ import annotations

from io import StringIO

import boto3
import pytest
from django.core.management import CommandError, call_command


def test_copies_verifies_and_skips_what_is_there(db, moto_server, settings, tmp_path):
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket="destino")
    settings.ORBIT_S3_ENDPOINT_URL, settings.ORBIT_S3_ACCESS_KEY_ID, settings.ORBIT_S3_SECRET_ACCESS_KEY = (
        moto_server, "test", "test")
    names = ["tenants/t_a/uploads/images/2026/12/a.png", "whitelabel/t_a/logo/b.png", "tenants/t_b/exports/c.zip"]
    for i, name in enumerate(names):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(bytes([i]) * (100 + i))

    out = StringIO()
    call_command("storage", "migrate-to-s3", "--from", str(tmp_path), "--bucket", "destino", stdout=out, stderr=StringIO())
    assert "copied 3, already there 0, failed 0" in out.getvalue()
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="destino")["Contents"])
    assert keys == sorted(names)
    assert client.get_object(Bucket="destino", Key=names[1])["Body"].read() == bytes([1]) * 101

    (tmp_path / names[0]).write_bytes(b"changed")
    out = StringIO()
    call_command("storage", "migrate-to-s3", "--from", str(tmp_path), "--bucket", "destino", stdout=out, stderr=StringIO())
    assert "copied 1, already there 2" in out.getvalue()


def test_refuses_without_a_bucket(db, settings, tmp_path):
    settings.ORBIT_S3_BUCKET = ""
    with pytest.raises(CommandError, match="no bucket"):
        call_command("storage", "migrate-to-s3", "--from", str(tmp_path))
