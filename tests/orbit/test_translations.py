"""Every string marked for translation has an English translation in one of the catalogues.

makemessages runs on a copy of the sources (the project's catalogues are not touched) and
every msgid it finds must be translated in some catalogue Orbit ships (root locale/ and the
apps'): an untranslated "Aberta" shows Portuguese to an English reader."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("accounts", "billing", "branding", "chat", "orbit", "tenants", "templates", "static", "locale", "manage.py")


def _catalogues(base: Path) -> list[Path]:
    return [p for p in base.glob("**/locale/en/LC_MESSAGES/django.po") if ".venv" not in p.parts]


def _services_env() -> dict[str, str]:
    """The embedded services' URLs (settings need a database URL even to extract messages)."""
    path = ROOT / "var" / "services.env"
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_every_marked_string_has_an_english_translation(tmp_path):
    if not shutil.which("xgettext"):
        pytest.fail("xgettext (Debian's gettext) is needed to extract the messages")
    copy = tmp_path / "src"
    copy.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, copy / name)
    env = {**_services_env(), **os.environ, "DJANGO_SETTINGS_MODULE": "orbit.settings_test"}
    done = subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "en", "--no-obsolete", "-v", "0"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    translated = {entry.msgid for path in _catalogues(ROOT) for entry in polib.pofile(str(path))
                  if entry.translated() and "fuzzy" not in entry.flags}
    missing = sorted({
        f"{entry.msgid!r} ({entry.occurrences[0][0] if entry.occurrences else '?'})"
        for path in _catalogues(copy) for entry in polib.pofile(str(path))
        if not entry.obsolete and entry.msgid not in translated
    })
    assert not missing, "untranslated in English:\n" + "\n".join(missing)
