"""Masking of citizens' personal data (DESIGN §7, GB/T 35273 §7.2)."""


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234; landlines keep area code and last 4 digits."""
    digits = phone or ""
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) == 11 and digits.isdigit():
        return f"{digits[:3]}****{digits[-4:]}"
    head = digits.split("-")[0] + "-" if "-" in digits else digits[:3]
    return f"{head}****{digits[-4:]}"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)
