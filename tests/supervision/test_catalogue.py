"""apps/supervision's own Chinese catalogue: complete, placeholders kept, .mo in step."""

import gettext
from pathlib import Path

from django.utils import translation

from tests.test_translations import _placeholders, parse_po

LC = Path(__file__).resolve().parents[2] / "apps" / "supervision" / "locale" / "zh_Hans" / "LC_MESSAGES"


def _messages():
    return [e for e in parse_po((LC / "django.po").read_text(encoding="utf-8")) if e.msgid and not e.obsolete]


def test_every_message_is_translated_with_its_placeholders():
    entries = _messages()
    assert len(entries) > 100
    for entry in entries:
        assert entry.msgstr.get(0), entry.label()
        assert "fuzzy" not in entry.flags, entry.label()
        assert sorted(_placeholders(entry.msgid)) == sorted(_placeholders(entry.msgstr[0])), entry.label()


def test_the_compiled_catalogue_matches_the_po():
    with open(LC / "django.mo", "rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    for entry in _messages():
        assert catalog.get(entry.key) == entry.msgstr[0], entry.label()


def test_django_serves_the_chinese_text():
    with translation.override("zh-hans"):
        assert translation.gettext("Conduct flags") == "作风问题标记"
        assert translation.gettext("supervision notice (督办)") == "督办"
