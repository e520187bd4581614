from tests.s3 import media, moto_server, s3  # noqa: F401
