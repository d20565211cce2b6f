"""WeChat message encryption (消息加解密): AES-256-CBC with the EncodingAESKey.

payload = random(16) || uint32_be(len(msg)) || msg || appid, PKCS#7-padded to
32-byte blocks; key = b64decode(EncodingAESKey + "="), IV = key[:16];
msg_signature = sha1(sorted(token, timestamp, nonce, Encrypt)).
Written on `cryptography` rather than wechatpy (see README, design notes).
"""
from __future__ import annotations

import base64
import binascii
import secrets
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wechat.signature import SignatureError, check_signature, sha1_signature

BLOCK = 32


class CryptoError(ValueError):
    """An encrypted payload that is not ours: bad base64, padding, length or AppID."""


def _key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise CryptoError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise CryptoError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise CryptoError("EncodingAESKey does not decode to 32 bytes")
    return key


def pkcs7_pad(data: bytes) -> bytes:
    pad = BLOCK - len(data) % BLOCK
    return data + bytes([pad]) * pad


def pkcs7_unpad(data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise CryptoError("ciphertext length is not a multiple of the block size")
    pad = data[-1]
    if pad < 1 or pad > BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad PKCS#7 padding")
    return data[:-pad]


class MessageCrypto:
    """Encrypts replies and decrypts requests for one official account."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.appid = appid
        self._key = _key(encoding_aes_key)

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: str, random_prefix: bytes | None = None) -> str:
        prefix = secrets.token_bytes(16) if random_prefix is None else random_prefix
        if len(prefix) != 16:
            raise CryptoError("random prefix must be 16 bytes")
        body = message.encode("utf-8")
        plain = pkcs7_pad(prefix + struct.pack(">I", len(body)) + body + self.appid.encode())
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("Encrypt is not base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext length is not a multiple of the block size")
        decryptor = self._cipher().decryptor()
        plain = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("payload too short")
        (length,) = struct.unpack(">I", plain[16:20])
        body, appid = plain[20:20 + length], plain[20 + length:]
        if len(body) != length:
            raise CryptoError("declared length exceeds payload")
        if appid.decode("utf-8", "replace") != self.appid:
            raise CryptoError("AppID mismatch")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("payload is not UTF-8") from exc

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypted)

    def open(self, msg_signature: str | None, timestamp: str | None, nonce: str | None, encrypted: str) -> str:
        """Verify msg_signature, then decrypt. Raises SignatureError or CryptoError."""
        check_signature(self.token, msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def seal(self, reply_xml: str, timestamp: str, nonce: str, random_prefix: bytes | None = None) -> str:
        """The encrypted reply envelope WeChat expects in safe and compatible mode."""
        encrypted = self.encrypt(reply_xml, random_prefix)
        signature = self.signature(timestamp, nonce, encrypted)
        return (
            "<xml>\n"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>\n"
            "</xml>"
        )


__all__ = ["MessageCrypto", "CryptoError", "SignatureError", "pkcs7_pad", "pkcs7_unpad"]
