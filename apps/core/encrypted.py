"""Personal data encrypted at rest, with a keyed blind index for exact lookup.

MLPS 8.1.4.8d / GB/T 39786 §8.4e want the citizen's phone and ID number confidential in
storage, with the key outside the database. Each value is sealed with AES-256-GCM
(`cryptography`'s AESGCM: authenticated, so a swapped or edited ciphertext fails to open
instead of decrypting to garbage), a fresh 96-bit nonce per value, and the field's
*purpose* as associated data (a phone ciphertext copied into the ID-number column does
not open). The stored text is

    x1$<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>

The key id (8 hex characters of a hash of the key) says which key sealed the value, so
`rotate_data_key` re-seals only what the newest key did not seal (idempotent, resumable),
and several keys can open old values meanwhile. Keys come from settings.XLX_DATA_KEYS
(from the environment; newest first).

Ciphertexts are random, so the database cannot compare them: equality lookups go through
a blind index, HMAC-SHA256 of the normalised value under a separate key
(settings.XLX_BLIND_INDEX_KEY). The field refuses every lookup but `isnull` and `= ''`
(a query string like `?citizen_phone__startswith=139` is an error, not an oracle).

The empty string stays empty (not encrypted): "has a phone" stays a cheap filter and
tells nothing about the number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import models, transaction
from django.db.models.lookups import Exact, IsNull
from django.utils.translation import gettext_lazy as _

from apps.core.bulk_rows import update_by_pk

PREFIX = "x1"
_NONCE = 12


class DataKeyError(ImproperlyConfigured):
    """A stored value cannot be opened with any configured key (or is not ciphertext)."""


def _decode_key(text: str, *, name: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name}: a key is not base64.") from exc
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{name}: each key must be 32 random bytes, base64-encoded.")
    return raw


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"xlx-data-key:" + key).hexdigest()[:8]


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...]) -> tuple[tuple[str, AESGCM], ...]:
    if not keys:
        raise ImproperlyConfigured("XLX_DATA_KEYS is empty: personal data cannot be encrypted.")
    ring = []
    for text in keys:
        raw = _decode_key(text, name="XLX_DATA_KEYS")
        ring.append((key_id(raw), AESGCM(raw)))
    return tuple(ring)


def keyring() -> tuple[tuple[str, AESGCM], ...]:
    """(key id, cipher) pairs, newest first; cached per configured list (tests override it)."""
    return _keyring(tuple(settings.XLX_DATA_KEYS))


def newest_key_id() -> str:
    return keyring()[0][0]


def encrypt(plaintext: str, purpose: str) -> str:
    if plaintext is None or plaintext == "":
        return plaintext
    kid, cipher = keyring()[0]
    nonce = os.urandom(_NONCE)
    sealed = cipher.encrypt(nonce, str(plaintext).encode(), purpose.encode())
    return f"{PREFIX}${kid}${base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def is_ciphertext(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX + "$") and value.count("$") == 2


def sealed_by(value: str) -> str:
    """The key id that sealed `value` ('' when it is not ciphertext)."""
    return value.split("$")[1] if is_ciphertext(value) else ""


def decrypt(value: str, purpose: str) -> str:
    if value is None or value == "":
        return value
    if not is_ciphertext(value):
        raise DataKeyError(f"A {purpose} value in the database is not ciphertext (run the data migration).")
    _, kid, body = value.split("$")
    blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    candidates = sorted(keyring(), key=lambda pair: pair[0] != kid)  # the named key first
    for _kid, cipher in candidates:
        try:
            return cipher.decrypt(blob[:_NONCE], blob[_NONCE:], purpose.encode()).decode()
        except InvalidTag:
            continue
    raise DataKeyError(f"A {purpose} value was sealed by key {kid}, which XLX_DATA_KEYS no longer holds.")


# --- blind index ----------------------------------------------------------------------------

_NOT_DIGIT = re.compile(r"\D")


def normalise(kind: str, value: str) -> str:
    """What counts as the same number: digits only for phones (a landline's hyphen, a +86
    prefix or spaces do not make a different caller); upper-case X for ID numbers."""
    value = (value or "").strip()
    if kind == "phone":
        digits = _NOT_DIGIT.sub("", value)
        if len(digits) == 13 and digits.startswith("86") and digits[2] == "1":
            digits = digits[2:]
        return digits
    if kind == "id_number":
        return value.replace(" ", "").upper()
    raise ValueError(kind)


@lru_cache(maxsize=4)
def _index_key(text: str) -> bytes:
    if not text:
        raise ImproperlyConfigured("XLX_BLIND_INDEX_KEY is empty: personal data cannot be indexed.")
    return _decode_key(text, name="XLX_BLIND_INDEX_KEY")


def blind_index(kind: str, value: str) -> str:
    """HMAC-SHA256 of the normalised value, hex; '' for no value."""
    normal = normalise(kind, value)
    if not normal:
        return ""
    key = _index_key(settings.XLX_BLIND_INDEX_KEY)
    return hmac.digest(key, f"{kind}:{normal}".encode(), "sha256").hex()  # C fast path: the seed writes millions


# --- model fields ---------------------------------------------------------------------------


class _OnlyEmptyExact(Exact):
    """`= ''` (has no value) is the one comparison that means something on ciphertext."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(f"{self.lhs.target.name} is encrypted: look it up by its blind index, not by value.")
        return super().get_prep_lookup()


class EncryptedCharField(models.CharField):
    """A CharField whose column holds AES-GCM ciphertext; Python sees the plaintext.

    `max_length` and validators apply to the plaintext; the column is text. `purpose` is
    the associated data and must never change once rows exist (simple-history's copy of
    the field keeps it, so history rows are encrypted the same way).
    """

    encrypts = True
    description = _("Encrypted text")

    def __init__(self, *args, purpose: str = "", **kwargs):
        if not purpose:
            raise ValueError("EncryptedCharField needs a purpose (its associated data).")
        self.purpose = purpose
        kwargs.pop("db_index", None)  # an index on random ciphertext serves nothing
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def get_internal_type(self):
        return "TextField"  # ciphertext is longer than the plaintext's max_length

    def from_db_value(self, value, expression, connection):
        return decrypt(value, self.purpose)

    def get_db_prep_value(self, value, connection, prepared=False):
        value = self.to_python(value)
        return encrypt(value, self.purpose)

    def encrypt(self, value):
        """For bulk writers that bypass the ORM (COPY)."""
        return encrypt(value, self.purpose)

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return _OnlyEmptyExact
        if lookup_name == "isnull":
            return IsNull
        return None  # every other lookup is an error (FieldError), never a partial match


class BlindIndexField(models.CharField):
    """HMAC of another field's value, kept in step on every save (and bulk_create).

    A queryset.update() of the source field must set this one too (blind_index()).
    """

    def __init__(self, *args, source: str = "", kind: str = "phone", **kwargs):
        if not source:
            raise ValueError("BlindIndexField needs the name of its source field.")
        self.source, self.kind = source, kind
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, kind=self.kind)
        for key, default in (("max_length", 64), ("blank", True), ("default", ""), ("editable", False)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = blind_index(self.kind, getattr(model_instance, self.source, "") or "")
        setattr(model_instance, self.attname, value)
        return value


def encrypted_columns(model) -> list[tuple[EncryptedCharField, BlindIndexField | None]]:
    """A model's encrypted fields, each with the blind index fed by it (or None)."""
    indexes = {f.source: f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)}
    return [(f, indexes.get(f.name)) for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]


# --- re-sealing stored rows (the data migration, rotate_data_key) --------------------------

# Same setting as apps.supervision.immutability.MAINTENANCE_SETTING (core imports no
# domain app): history tables are append-only on PostgreSQL except in a transaction that
# declares sanctioned maintenance.
_MAINTENANCE = "SET LOCAL xlx.maintenance = 'on'"


def reseal_table(
    connection,
    *,
    table: str,
    pk: str,
    columns: list[tuple[str, str, str | None, str]],
    batch: int = 5000,
    reindex: bool = False,
    progress=None,
) -> int:
    """Seal every value of `table` with the newest key, in batches of `batch` rows by
    primary key, one transaction per batch (a stop loses at most one batch; a rerun skips
    what is done). `columns` is [(column, purpose, index column or None, index kind)].
    Plaintext (rows from before encryption) is sealed; values sealed by an older key are
    opened and sealed again; with `reindex`, blind indexes are recomputed for every row
    (after a change of XLX_BLIND_INDEX_KEY). Returns the rows changed."""
    qn = connection.ops.quote_name
    newest = newest_key_id()
    select = ", ".join(qn(c) for c, *_ in columns)
    changed, last = 0, None
    while True:
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                where, params = (f"WHERE {qn(pk)} > %s", [last]) if last is not None else ("", [])
                cursor.execute(
                    f"SELECT {qn(pk)}, {select} FROM {qn(table)} {where} ORDER BY {qn(pk)} LIMIT %s",
                    [*params, batch],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                updates = []
                for row in rows:
                    sets = {}
                    for (column, purpose, index_column, kind), value in zip(columns, row[1:], strict=True):
                        if not value:
                            continue
                        if is_ciphertext(value):
                            if sealed_by(value) == newest and not reindex:
                                continue
                            plain = decrypt(value, purpose)
                        else:
                            plain = value
                        if sealed_by(value) != newest:
                            sets[column] = encrypt(plain, purpose)
                        if index_column:
                            sets[index_column] = blind_index(kind, plain)
                    if sets:
                        updates.append((row[0], sets))
                if updates:
                    if connection.vendor == "postgresql":
                        cursor.execute(_MAINTENANCE)
                    # One statement per set of columns changed (apps.core.bulk_rows).
                    grouped: dict[tuple[str, ...], list[list]] = {}
                    for row_pk, sets in updates:
                        grouped.setdefault(tuple(sets), []).append([*sets.values(), row_pk])
                    for names, rows_of_names in grouped.items():
                        update_by_pk(
                            connection, table=table, pk=pk, columns=[(c, "text") for c in names], rows=rows_of_names
                        )
                    changed += len(updates)
        if progress:
            progress(table, last, changed)
    return changed


def reseal_model(model, *, connection, batch: int = 5000, reindex: bool = False, progress=None) -> int:
    columns = [
        (f.column, f.purpose, index.column if index else None, index.kind if index else "")
        for f, index in encrypted_columns(model)
    ]
    if not columns:
        return 0
    return reseal_table(
        connection,
        table=model._meta.db_table,
        pk=model._meta.pk.column,
        columns=columns,
        batch=batch,
        reindex=reindex,
        progress=progress,
    )
