"""WeCom's callback cryptography (WXBizMsgCrypt), on `cryptography`'s AES.

A callback carries `msg_signature`, the SHA1 of token, timestamp, nonce and the
ciphertext sorted and joined. The ciphertext is base64 of AES-256-CBC (key: the
43-character EncodingAESKey with "=" appended, base64-decoded; IV: the key's
first 16 bytes) over 16 random bytes, the message length (4 bytes, big-endian),
the message and the receiver id (the corp id), PKCS#7-padded to 32-byte blocks.
The bot decrypts callbacks and the URL check's echostr; the emulator encrypts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    """A callback that is not WeCom's: bad signature, ciphertext or receiver."""


class WeComCrypto:
    def __init__(self, token: str, aes_key: str, receiver: str) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except binascii.Error as error:
            raise ValueError("WECOM_AES_KEY is not WeCom's 43-character key") from error
        if len(aes_key) != 43 or len(key) != 32:
            raise ValueError("WECOM_AES_KEY is not WeCom's 43-character key")
        self.token = token
        self.receiver = receiver
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 (WeCom's protocol)

    def check(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.signature(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise CryptoError("signature does not match")

    def decrypt(self, encrypted: str) -> str:
        """The message inside a checked ciphertext; CryptoError when it is not one of ours."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except binascii.Error as error:
            raise CryptoError("ciphertext is not base64") from error
        if not data or len(data) % 16:
            raise CryptoError("ciphertext is not whole AES blocks")
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receiver = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length or receiver.decode(errors="replace") != self.receiver:
            raise CryptoError("not for this receiver")
        try:
            return message.decode()
        except UnicodeDecodeError as error:
            raise CryptoError("message is not UTF-8") from error

    def encrypt(self, message: str, random: bytes | None = None) -> str:
        """What WeCom sends (the emulator's side, and a passive reply's)."""
        raw = message.encode()
        plain = (random or os.urandom(16)) + struct.pack(">I", len(raw)) + raw
        plain += self.receiver.encode()
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
