"""Personal identifiers at rest: encrypted, with a keyed fingerprint to find the same value again.

Residents' ID numbers and phones are stored sealed — AES-256-GCM with a random 96-bit nonce, the column's name as
associated data (a sealed value copied into another column does not open) — as ``v1:`` + base64url(nonce +
ciphertext + tag). Deduplication and lookups use a **blind index**: HMAC-SHA256 of the normalised value, so equal
values match without the database holding them in the clear. Both keys are derived from one master key with
HKDF-SHA256; the master key comes from ``Settings.registry_key`` or, when that is empty, from
``var_dir/registry.key`` (created with mode 0600 on first use — a single-server install and the demo).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from civicgrid.errors import CivicgridError
from civicgrid.settings import Settings

KEY_FILE = "registry.key"
_VERSION = "v1:"
_NONCE_BYTES = 12


class RegistryKeyError(CivicgridError):
    """The registry's key is missing, malformed, or not the one the data were sealed with."""

    code = "registry_key"


class Protector:
    """Seals and opens one kind of value per column, and fingerprints it, under keys derived from one master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise RegistryKeyError("登记信息密钥应为32字节", code="registry_key")
        self._cipher = AESGCM(_derive(master_key, b"civicgrid registry seal v1"))
        self._index_key = _derive(master_key, b"civicgrid registry blind index v1")
        self._master_key = master_key

    def seal(self, value: str, column: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, value.encode(), column.encode())
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, column: str) -> str:
        if not sealed.startswith(_VERSION):
            raise RegistryKeyError("登记信息的加密格式无法识别", code="registry_sealed_format")
        raw = base64.urlsafe_b64decode(sealed[len(_VERSION) :])
        try:
            plain = self._cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], column.encode())
        except InvalidTag as error:
            raise RegistryKeyError("登记信息无法解密：密钥不符或数据已损坏", code="registry_key_mismatch") from error
        return plain.decode()

    def blind_index(self, value: str, column: str) -> str:
        """The same value in the same column always gives the same 64 hex characters; nothing can be read back."""
        message = column.encode() + b"\x00" + value.encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def sign(self, message: str, *, purpose: str) -> str:
        """An HMAC of ``message`` under a key of its own for ``purpose`` (a link that must not be forged)."""
        key = _derive(self._master_key, f"civicgrid signature v1: {purpose}".encode())
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)


def protector_for(settings: Settings) -> Protector:
    """The protector of this installation's master key (see the module docstring for where it comes from)."""
    if settings.registry_key is not None:
        return _protector(_decode(settings.registry_key.get_secret_value()))
    return _protector(_key_from_file(settings.var_dir / KEY_FILE))


@lru_cache(maxsize=4)
def _protector(master_key: bytes) -> Protector:
    return Protector(master_key)


def _decode(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError as error:
        raise RegistryKeyError("CIVICGRID_REGISTRY_KEY 不是有效的 base64url 编码", code="registry_key") from error
    if len(key) != 32:
        raise RegistryKeyError("CIVICGRID_REGISTRY_KEY 应为32字节（base64url 编码后43个字符）", code="registry_key")
    return key


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_key() + "\n")
    return _decode(path.read_text())


def new_key() -> str:
    """A fresh master key for CIVICGRID_REGISTRY_KEY."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
