"""WeChat's official encryption samples, and the ways a forged payload must fail."""
from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.core.config import ROOT
from bot.wechat.crypto import CryptoError, MessageCrypto, pkcs7_pad
from bot.wechat.signature import SignatureError, check_signature, check_timestamp, sha1_signature

VECTORS_PATH = ROOT.parent / "shared" / "wechat" / "vectors.json"
LOCAL_COPY = ROOT / "tests" / "data" / "wechat_vectors.json"


def load_vectors() -> dict:
    path = VECTORS_PATH if VECTORS_PATH.exists() else LOCAL_COPY
    return json.loads(path.read_text(encoding="utf-8"))["vectors"]


V = load_vectors()
A = V["A_official_python_sample_decrypt"]
B = V["B_official_java_sample_encrypt"]


def test_local_copy_of_vectors_matches_the_shared_file():
    if not VECTORS_PATH.exists():
        pytest.skip("../shared/wechat/vectors.json is not beside this checkout")
    assert json.loads(LOCAL_COPY.read_text(encoding="utf-8")) == json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def test_official_sample_decrypts():
    crypto = MessageCrypto(A["token"], A["encoding_aes_key"], A["app_id"])
    assert crypto.open(A["msg_signature"], A["timestamp"], A["nonce"], A["encrypt"]) == A["expected_plaintext"]


def test_get_signature_of_the_sample():
    assert sha1_signature(A["token"], A["timestamp"], A["nonce"]) == A["derived_get_signature_sha1(token,timestamp,nonce)"]


@pytest.mark.parametrize("message_key, expected_key", [("reply_msg_1", "after_aes_encrypt_1"),
                                                        ("reply_msg_2", "after_aes_encrypt_2")])
def test_official_sample_encrypts_with_a_fixed_prefix(message_key, expected_key):
    crypto = MessageCrypto(B["token"], B["encoding_aes_key"], B["app_id"])
    encrypted = crypto.encrypt(B[message_key], B["random_str"].encode())
    assert encrypted == B[expected_key]
    assert crypto.decrypt(encrypted) == B[message_key]


def test_signatures_and_envelope_of_the_sample():
    crypto = MessageCrypto(B["token"], B["encoding_aes_key"], B["app_id"])
    assert crypto.signature(B["timestamp"], B["nonce"], B["after_aes_encrypt_1"]) == B["derived_msg_signature_1"]
    assert crypto.signature(B["timestamp"], B["nonce"], B["after_aes_encrypt_2"]) == B["derived_msg_signature_2"]
    sealed = crypto.seal(B["reply_msg_1"], B["timestamp"], B["nonce"], B["random_str"].encode())
    assert sealed == B["derived_encrypted_reply_envelope_1"]


def test_random_prefix_differs_between_encryptions():
    crypto = MessageCrypto(B["token"], B["encoding_aes_key"], B["app_id"])
    assert crypto.encrypt("同一句话") != crypto.encrypt("同一句话")


def test_tampered_nonce_is_refused():
    crypto = MessageCrypto(A["token"], A["encoding_aes_key"], A["app_id"])
    with pytest.raises(SignatureError):
        crypto.open(A["msg_signature"], A["timestamp"], A["nonce"] + "1", A["encrypt"])


def test_tampered_ciphertext_is_refused_by_the_signature():
    crypto = MessageCrypto(A["token"], A["encoding_aes_key"], A["app_id"])
    tampered = "A" + A["encrypt"][1:]
    with pytest.raises(SignatureError):
        crypto.open(A["msg_signature"], A["timestamp"], A["nonce"], tampered)


def test_wrong_appid_is_refused():
    crypto = MessageCrypto(A["token"], A["encoding_aes_key"], "wx0000000000000000")
    with pytest.raises(CryptoError, match="AppID"):
        crypto.open(A["msg_signature"], A["timestamp"], A["nonce"], A["encrypt"])


def _raw_encrypt(key_b64: str, plain: bytes) -> str:
    key = base64.b64decode(key_b64 + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


@pytest.mark.parametrize("last_byte", [0, 33, 7])
def test_bad_padding_is_refused(last_byte):
    # 64 bytes whose final padding byte is out of range (0, 33) or inconsistent (7 with other bytes before it)
    body = b"\x01" * 63 + bytes([last_byte])
    encrypted = _raw_encrypt(A["encoding_aes_key"], body)
    crypto = MessageCrypto(A["token"], A["encoding_aes_key"], A["app_id"])
    with pytest.raises(CryptoError, match="padding"):
        crypto.decrypt(encrypted)


def test_declared_length_beyond_payload_is_refused():
    crypto = MessageCrypto(A["token"], A["encoding_aes_key"], A["app_id"])
    plain = pkcs7_pad(b"r" * 16 + (10_000).to_bytes(4, "big") + b"<xml/>" + A["app_id"].encode())
    with pytest.raises(CryptoError):
        crypto.decrypt(_raw_encrypt(A["encoding_aes_key"], plain))


def test_not_base64_is_refused():
    crypto = MessageCrypto(A["token"], A["encoding_aes_key"], A["app_id"])
    with pytest.raises(CryptoError):
        crypto.decrypt("!!!not base64!!!")


def test_stale_and_future_timestamps_are_refused():
    now = time.time()
    check_timestamp(str(int(now) - 299), now=now)
    for stamp in (int(now) - 301, int(now) + 301, "yesterday"):
        with pytest.raises(SignatureError):
            check_timestamp(str(stamp), now=now)


def test_plain_signature_check():
    sig = sha1_signature("tok", "1", "2")
    check_signature("tok", sig, "1", "2")
    check_signature("tok", sig.upper(), "1", "2")
    for bad in (None, "", sig[:-1] + "0"):
        with pytest.raises(SignatureError):
            check_signature("tok", bad, "1", "2")
