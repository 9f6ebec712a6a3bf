"""Citizens' personal data: masking for display, detection in free text, validation.

Masked by default everywhere (GB/T 35273 §7.2, PIPL Art. 51): 张*, 138****1234,
110105********123X, an address cut after its street. Data is stored whole (the department
calls the citizen after a logged reveal); masking happens on the server when a value is
shown. Free text (an appeal's content, a reply, a note) may hold a number a citizen or an
operator typed in, so `mask_text` finds phone and ID numbers in any text and masks them.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A mobile number (1 + 10 digits), a landline with its area code (0 + 2-3 digits, optional
# dash, 7-8 digits), an 18-character resident ID number (GB 11643) or an old 15-digit one,
# each not part of a longer run of digits (a tracking number or an amount stays whole).
_NOT_DIGIT_BEFORE = r"(?<![0-9])"
_NOT_DIGIT_AFTER = r"(?![0-9Xx])"
ID_NUMBER_RE = re.compile(_NOT_DIGIT_BEFORE + r"(?:[1-9]\d{16}[0-9Xx]|[1-9]\d{14})" + _NOT_DIGIT_AFTER)
MOBILE_RE = re.compile(_NOT_DIGIT_BEFORE + r"(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}" + r"(?![0-9])")
LANDLINE_RE = re.compile(_NOT_DIGIT_BEFORE + r"0\d{2,3}-?[2-9]\d{6,7}" + r"(?![0-9])")
# Each of the three holds seven digits with at most one dash or space among them after the
# third (138 1234 5678, 010-12345678, an ID number): text without such a run holds no
# number, which one search tells (most cells of a list: names, states, dates, ids).
_MAYBE_A_NUMBER_RE = re.compile(r"\d{3}[- ]?\d{4}")

# Where an address's street part ends: what follows (number, building, room) is masked.
_STREET_END_RE = re.compile(r"^(.*?(?:街道|大道|大街|路|街|巷|镇|乡|村|社区|小区))")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234; landlines keep the area code and the last four digits."""
    digits = (phone or "").strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    compact = re.sub(r"[- ]", "", digits)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("86") and len(compact) == 13:
        compact = compact[2:]
    if len(compact) == 11 and compact.isdigit() and compact.startswith("1"):
        return f"{compact[:3]}****{compact[-4:]}"
    head = digits.split("-")[0] + "-" if "-" in digits else digits[:3]
    return f"{head}****{digits[-4:]}"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_id_number(number: str) -> str:
    """110105199001011234 → 110105********1234 (the region stays, the birth date goes)."""
    number = (number or "").strip()
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_address(address: str) -> str:
    """嘉州市东城区人民路88号3栋201 → 嘉州市东城区人民路***: kept to the street."""
    address = (address or "").strip()
    if not address:
        return ""
    match = _STREET_END_RE.match(address)
    if match and match.group(1) != address:
        return mask_text(match.group(1)) + "***"
    if match:
        return mask_text(address)
    # No street word: keep the first third (district level), mask the rest.
    keep = max(len(address) // 3, 1)
    return mask_text(address[:keep]) + "***"


def _mask_match(match: re.Match) -> str:
    value = match.group(0)
    if len(value) in (15, 18) and ID_NUMBER_RE.fullmatch(value):
        return mask_id_number(value)
    return mask_phone(value)


def mask_text(text: str) -> str:
    """Free text with every phone and ID number in it masked, the rest unchanged."""
    if not text:
        return text or ""
    if not _MAYBE_A_NUMBER_RE.search(text):
        return text
    text = ID_NUMBER_RE.sub(_mask_match, text)
    text = MOBILE_RE.sub(_mask_match, text)
    return LANDLINE_RE.sub(_mask_match, text)


def whole_numbers_in(text: str) -> list[str]:
    """The phone and ID numbers in `text` that are not masked (for scans and tests)."""
    if not text:
        return []
    found = [m.group(0) for m in ID_NUMBER_RE.finditer(text)]
    for pattern in (MOBILE_RE, LANDLINE_RE):
        found += [m.group(0) for m in pattern.finditer(ID_NUMBER_RE.sub("", text))]
    return found


def id_number_is_valid(number: str) -> bool:
    """GB 11643-1999: 17 digits and a check character (ISO 7064 MOD 11-2)."""
    number = (number or "").strip().upper()
    if not re.fullmatch(r"[1-9]\d{16}[0-9X]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def validate_id_number(value: str) -> None:
    if value and not id_number_is_valid(value):
        raise ValidationError(
            _("This is not a valid resident ID number (18 characters, the last one a check digit)."),
            code="invalid_id_number",
        )
