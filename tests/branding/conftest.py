import pytest

from tests.factories import make_organization


@pytest.fixture
def media(settings, tmp_path):
    """Brand files in a temporary directory (default storage, as in production)."""
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the on-commit work (cache invalidation, e-mails) of a rolled-back test."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def two_partners(db):
    """Two partners, each with one client: zap → padaria, nuvem → oficina."""
    zap = make_organization("zap", kind="partner", name="Zap Atende")
    nuvem = make_organization("nuvem", kind="partner", name="Nuvem Chat")
    padaria = make_organization("padaria", parent=zap, name="Padaria Central")
    oficina = make_organization("oficina", parent=nuvem, name="Oficina do Zé")
    return zap, nuvem, padaria, oficina
