"""The Simplified Chinese catalogue is complete, and the compiled .mo matches the .po.

Django reads only the .mo, so a .po edited without `compilemessages` (or a stale .mo
left behind) would silently show old or English text. No gettext tools are needed here:
the .po is parsed below and compared entry by entry with the .mo loaded by the standard
library. (File times are not compared: a git checkout does not keep them.)
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The project's catalogue, and the apps' own (an app's strings go to its own catalogue
# when it has a locale/ folder: makemessages picks the nearest).
CATALOGUES = [ROOT / "locale", *sorted((ROOT / "apps").glob("*/locale"))]
LC_MESSAGES = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')
# Python-format placeholders: %(name)s, %d, %s ...; "%%" is a literal percent sign.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # singular entries use index 0
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        # How the .mo (and so GNUTranslations._catalog) names an entry with a context.
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"

    def label(self) -> str:
        return f"{PO.name}:{self.line} {self.msgid!r}"


def _unquote(literal: str) -> str:
    # A PO string is a C string literal; for the escapes PO uses, Python's rules agree.
    return ast.literal_eval(literal)


def parse_po(text: str) -> list[Entry]:
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int | None] | None = None  # the field a continuation line extends
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#~"):  # obsolete entries: kept out of the catalogue
            if entry is None:
                entry = Entry(line=lineno, obsolete=True)
                entries.append(entry)
            entry.obsolete = True
            continue
        if line.startswith("#"):  # comments open an entry; "#," lists its flags
            if entry is None or entry.msgstr:
                entry, target = Entry(line=lineno), None
                entries.append(entry)
            if line.startswith("#,"):
                entry.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith('"'):
            assert entry is not None and target is not None, f"{PO.name}:{lineno}: stray string"
            name, index = target
            value = _unquote(line)
            if name == "msgstr":
                entry.msgstr[index] += value
            else:
                setattr(entry, name, (getattr(entry, name) or "") + value)
            continue
        match = _KEYWORD.match(line)
        assert match, f"{PO.name}:{lineno}: cannot parse {raw!r}"
        keyword, index, literal = match.groups()
        if entry is None or (keyword in ("msgctxt", "msgid") and (entry.msgstr or entry.msgid)):
            entry = Entry(line=lineno)
            entries.append(entry)
        value = _unquote(literal)
        if keyword.startswith("msgstr"):
            i = int(index) if index is not None else 0
            entry.msgstr[i] = value
            target = ("msgstr", i)
        else:
            setattr(entry, keyword, value)
            target = (keyword, None)
    return [e for e in entries if not e.obsolete and (e.msgid or e.msgstr)]


@pytest.fixture(params=CATALOGUES, ids=lambda d: str(d.relative_to(ROOT)))
def catalogue(request) -> tuple[Path, Path]:
    """(django.po, django.mo) of one catalogue."""
    lc = request.param / "zh_Hans" / "LC_MESSAGES"
    return lc / "django.po", lc / "django.mo"


def _entries(po: Path = PO) -> tuple[Entry, list[Entry]]:
    entries = parse_po(po.read_text(encoding="utf-8"))
    headers = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(headers) == 1, "the .po needs exactly one header entry"
    return headers[0], [e for e in entries if e is not headers[0]]


def _header_fields(header: Entry) -> dict[str, str]:
    return dict(line.split(":", 1) for line in header.msgstr[0].splitlines() if ":" in line)


def test_catalogue_exists_and_has_messages(catalogue):
    po, mo = catalogue
    assert po.is_file(), f"missing {po}: run makemessages -l zh_Hans"
    assert mo.is_file(), f"missing {mo}: run compilemessages"
    _, messages = _entries(po)
    assert messages, "the catalogue has no messages"


def test_header_is_for_simplified_chinese(catalogue):
    header, _ = _entries(catalogue[0])
    fields = {k.strip(): v.strip() for k, v in _header_fields(header).items()}
    assert "fuzzy" not in header.flags, "the header is marked fuzzy"
    assert fields.get("Language") == "zh_Hans"
    assert fields.get("Plural-Forms") == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in fields.get("Content-Type", "")


def test_every_message_is_translated_and_not_fuzzy(catalogue):
    _, messages = _entries(catalogue[0])
    fuzzy = [e.label() for e in messages if "fuzzy" in e.flags]
    empty = [e.label() for e in messages if not e.msgstr or any(not s for s in e.msgstr.values())]
    problems = [f"fuzzy (check it, then drop the flag): {e}" for e in fuzzy]
    problems += [f"untranslated: {e}" for e in empty]
    assert not problems, f"incomplete zh_Hans catalogue {catalogue[0]}:\n" + "\n".join(problems)


def test_plural_entries_have_exactly_the_one_chinese_form(catalogue):
    _, messages = _entries(catalogue[0])
    wrong = [e.label() for e in messages if e.msgid_plural is not None and sorted(e.msgstr) != [0]]
    singular_with_index = [e.label() for e in messages if e.msgid_plural is None and sorted(e.msgstr) != [0]]
    assert not wrong, "plural entries need msgstr[0] only (nplurals=1):\n" + "\n".join(wrong)
    assert not singular_with_index, "singular entries with plural forms:\n" + "\n".join(singular_with_index)


def _placeholders(text: str) -> list[str]:
    return sorted(p for p in _PLACEHOLDER.findall(text) if p != "%%")


def test_translations_keep_the_placeholders(catalogue):
    _, messages = _entries(catalogue[0])
    bad = []
    for e in messages:
        if "python-format" not in e.flags and "%(" not in e.msgid:
            continue
        expected = _placeholders(e.msgid)
        plural = _placeholders(e.msgid_plural) if e.msgid_plural is not None else expected
        for s in e.msgstr.values():
            got = _placeholders(s)
            # Chinese has one form: it must keep the singular's or the plural's placeholders.
            if got != expected and got != plural:
                bad.append(f"{e.label()}: expected {expected}, got {got}")
    assert not bad, "placeholders changed:\n" + "\n".join(bad)


def test_compiled_catalogue_matches_the_po(catalogue):
    po, mo = catalogue
    header, messages = _entries(po)
    with mo.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    # msgfmt copies the header without its POT-Creation-Date line.
    header_text = "".join(
        line for line in header.msgstr[0].splitlines(keepends=True) if not line.startswith("POT-Creation-Date:")
    )
    expected: dict[object, str] = {"": header_text}
    for e in messages:
        if "fuzzy" in e.flags or not all(e.msgstr.values()):
            continue  # msgfmt leaves these out; the completeness test reports them
        if e.msgid_plural is None:
            expected[e.key] = e.msgstr.get(0, "")
        else:
            for i, s in e.msgstr.items():
                expected[(e.key, i)] = s
    missing = sorted(repr(k) for k in expected if k not in catalog)
    stale = sorted(repr(k) for k in catalog if k not in expected)
    changed = sorted(repr(k) for k in expected if k in catalog and catalog[k] != expected[k])
    hint = " -- run: python manage.py compilemessages --ignore=.venv"
    assert not missing, f"in the .po but not in the .mo{hint}\n" + "\n".join(missing)
    assert not stale, f"in the .mo but no longer in the .po{hint}\n" + "\n".join(stale)
    assert not changed, f".mo differs from the .po{hint}\n" + "\n".join(changed)


@pytest.mark.parametrize(
    "source, translated",
    [
        ("department", "部门"),
        ("Reason for this change", "变更原因"),
        ("Xinlianxin citizen service centre", "心连心服务中心"),
    ],
)
def test_django_serves_the_chinese_text(source, translated):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert translation.gettext(source) == translated
