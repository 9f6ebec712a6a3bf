"""The app's own Chinese catalogue is complete and its .mo matches the .po."""

import gettext
from pathlib import Path

from tests.test_translations import parse_po

LC = Path(__file__).resolve().parents[2] / "apps" / "followups" / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_followups_catalogue_complete_and_compiled():
    entries = [e for e in parse_po((LC / "django.po").read_text(encoding="utf-8")) if e.msgid and not e.obsolete]
    assert entries
    missing = [e.msgid for e in entries if not all(e.msgstr.values()) or "fuzzy" in e.flags]
    assert missing == []
    with (LC / "django.mo").open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    stale = [e.msgid for e in entries if catalog.get(e.key) != e.msgstr.get(0)]
    assert stale == []
