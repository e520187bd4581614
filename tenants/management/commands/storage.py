"""Stored files across storages.

    manage.py storage migrate-to-s3 [--from DIR] [--bucket NAME] [--dry-run]

Copies every file of the local media folder (default var/media, where Orbit keeps files
without ORBIT_S3_BUCKET) to the S3 bucket (ORBIT_S3_BUCKET and the other ORBIT_S3_*
settings), under the same names, private. Each copy is verified (size, and MD5 against the
object's ETag); files already there with the same bytes are skipped, so it can be run
again after an interruption. Local files are never deleted: switch ORBIT_S3_BUCKET on,
check, then remove var/media yourself."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orbit.lib.storage import s3_storage


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Copy locally stored files to S3 (migrate-to-s3), verified, resumable."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        migrate = sub.add_parser("migrate-to-s3", help="copy var/media to the S3 bucket, verifying each file")
        migrate.add_argument("--from", dest="source", default=str(Path(settings.BASE_DIR) / "var" / "media"))
        migrate.add_argument("--bucket", default=None, help="default: ORBIT_S3_BUCKET")
        migrate.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        source = Path(options["source"])
        bucket = options["bucket"] or settings.ORBIT_S3_BUCKET
        if not bucket:
            raise CommandError("no bucket: set ORBIT_S3_BUCKET (and ORBIT_S3_*) or pass --bucket")
        if not source.is_dir():
            raise CommandError(f"{source}: no such folder")
        files = sorted(p for p in source.rglob("*") if p.is_file())
        target = s3_storage(bucket)
        client, copied, skipped, failed = target.connection.meta.client, 0, 0, []
        err = getattr(self.stderr, "_out", self.stderr)
        for path in tqdm(files, desc="migrate-to-s3", unit="file", file=err):
            name = path.relative_to(source).as_posix()
            size, md5 = path.stat().st_size, _md5(path)
            try:
                head = client.head_object(Bucket=bucket, Key=name)
            except client.exceptions.ClientError:
                head = None
            if head and head["ContentLength"] == size and head["ETag"].strip('"') == md5:
                skipped += 1
                continue
            if options["dry_run"]:
                copied += 1
                continue
            with open(path, "rb") as handle:
                target.save(name, File(handle))
            head = client.head_object(Bucket=bucket, Key=name)
            if head["ContentLength"] != size or head["ETag"].strip('"') != md5:
                failed.append(name)
            else:
                copied += 1
        verb = "would copy" if options["dry_run"] else "copied"
        self.stdout.write(f"{verb} {copied}, already there {skipped}, failed {len(failed)} (of {len(files)} in {source})")
        if failed:
            raise CommandError(f"{len(failed)} files did not verify, e.g. {failed[0]}: run the command again")
