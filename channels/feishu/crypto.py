"""Feishu's webhook cryptography (事件订阅的 Encrypt Key), on `cryptography`'s AES.

With an Encrypt Key set, Feishu posts every event as ``{"encrypt": "<base64>"}``: base64
of a random 16-byte IV followed by AES-256-CBC of the event's JSON, the key being the
SHA-256 digest of the Encrypt Key and the padding PKCS#7 to AES's 16-byte blocks. Each
request carries ``X-Lark-Request-Timestamp``, ``X-Lark-Request-Nonce`` and
``X-Lark-Signature``: the hex SHA-256 of timestamp + nonce + Encrypt Key + the raw body.
The bot's channel decrypts and checks; the emulator encrypts and signs. Its tests check
both against lark-oapi's own ``AESCipher`` and signature check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16


class CryptoError(ValueError):
    """A body that is not Feishu's: bad base64, ciphertext, padding or signature."""


def _key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def encrypt(key: str, plaintext: str) -> str:
    """``plaintext`` as Feishu encrypts it: base64(iv + AES-256-CBC(PKCS#7(plaintext)))."""
    iv = os.urandom(BLOCK)
    padder = padding.PKCS7(BLOCK * 8).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt(key: str, b64: str) -> str:
    """The plaintext of an ``encrypt`` field; CryptoError when it is not one."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as error:
        raise CryptoError("not base64") from error
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise CryptoError("ciphertext of a wrong length")
    decryptor = Cipher(algorithms.AES(_key(key)), modes.CBC(raw[:BLOCK])).decryptor()
    padded = decryptor.update(raw[BLOCK:]) + decryptor.finalize()
    unpadder = padding.PKCS7(BLOCK * 8).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise CryptoError("bad padding or not UTF-8: a wrong key?") from error


def signature(timestamp: str, nonce: str, key: str, body: bytes) -> str:
    """X-Lark-Signature: hex SHA-256 of timestamp + nonce + Encrypt Key + raw body."""
    return hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()


def signature_ok(timestamp: str, nonce: str, key: str, body: bytes, given: str) -> bool:
    """Whether ``given`` is the request's signature, compared in constant time."""
    return hmac.compare_digest(signature(timestamp, nonce, key, body), given)
