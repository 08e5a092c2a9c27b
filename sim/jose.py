"""Just enough JOSE and X.509 for the simulators, in the standard library.

RSA keys, RS256 signing (the STS stand-in issues tokens), RS256 and PS256 verification (the
token endpoint checks client assertions), JWT/JWK encoding, and a small DER reader that takes
from a certificate what Entra uses: its public key, validity and thumbprints. Test code only:
no constant-time arithmetic, no key protection. The signature schemes follow RFC 8017
(RSASSA-PKCS1-v1_5 and RSASSA-PSS with MGF1) and RFC 7518 section 3 (PS256 uses a 32-byte salt).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

# DigestInfo prefix for SHA-256 (RFC 8017 section 9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict enough for tests: unpadded base64url only, anything else is a ValueError."""
    if not isinstance(text, str) or any(c in text for c in "+/= \n"):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_to_bytes(value: int, length: int | None = None) -> bytes:
    length = length or max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


# ---------------------------------------------------------------------------------------------
# RSA
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def jwk(self, kid: str) -> dict:
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": b64url(int_to_bytes(self.n)), "e": b64url(int_to_bytes(self.e))}

    @staticmethod
    def from_jwk(jwk: dict) -> "RsaPublicKey":
        if jwk.get("kty") != "RSA":
            raise ValueError("not an RSA JWK")
        return RsaPublicKey(int.from_bytes(b64url_decode(jwk["n"]), "big"),
                            int.from_bytes(b64url_decode(jwk["e"]), "big"))


@dataclass(frozen=True)
class RsaPrivateKey:
    public: RsaPublicKey
    d: int
    p: int
    q: int

    def raw_sign(self, m: int) -> int:
        # CRT: four times faster than m^d mod n, which matters for pure-Python signing.
        dp, dq, q_inv = self.d % (self.p - 1), self.d % (self.q - 1), pow(self.q, -1, self.p)
        m1, m2 = pow(m, dp, self.p), pow(m, dq, self.q)
        return m2 + self.q * ((q_inv * (m1 - m2)) % self.p)


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def _probably_prime(n: int, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, e: int) -> int:
    while True:
        # Top two bits set, so p*q has exactly 2*bits bits; odd.
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if _probably_prime(candidate) and (candidate - 1) % e != 0:
            return candidate


def generate_rsa_key(bits: int = 2048, e: int = 65537) -> RsaPrivateKey:
    while True:
        p, q = _prime(bits // 2, e), _prime(bits // 2, e)
        if p == q:
            continue
        n = p * q
        d = pow(e, -1, (p - 1) * (q - 1))
        return RsaPrivateKey(RsaPublicKey(n, e), d, p, q)


def sign_rs256(key: RsaPrivateKey, message: bytes) -> bytes:
    k = key.public.size
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return int_to_bytes(key.raw_sign(int.from_bytes(em, "big")), k)


def _encoded_message(key: RsaPublicKey, signature: bytes) -> bytes | None:
    """RSAVP1: the encoded message inside a signature, or None if the signature is malformed."""
    if len(signature) != key.size:
        return None
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return None
    return int_to_bytes(pow(s, key.e, key.n), key.size)


def verify_rs256(key: RsaPublicKey, message: bytes, signature: bytes) -> bool:
    em = _encoded_message(key, signature)
    if em is None:
        return False
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (key.size - len(t) - 3) + b"\x00" + t
    return em == expected


def _mgf1_sha256(seed: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def verify_ps256(key: RsaPublicKey, message: bytes, signature: bytes, salt_length: int = 32) -> bool:
    """EMSA-PSS-VERIFY (RFC 8017 section 9.1.2) with SHA-256 and MGF1-SHA-256."""
    em_full = _encoded_message(key, signature)
    if em_full is None:
        return False
    em_bits = key.n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    em = em_full[len(em_full) - em_len:]
    if len(em_full) > em_len and any(em_full[: len(em_full) - em_len]):
        return False
    m_hash = hashlib.sha256(message).digest()
    h_len = len(m_hash)
    if em_len < h_len + salt_length + 2 or em[-1] != 0xBC:
        return False
    masked_db, h = em[: em_len - h_len - 1], em[em_len - h_len - 1: -1]
    unused_bits = 8 * em_len - em_bits
    if unused_bits and masked_db[0] >> (8 - unused_bits):
        return False
    db = bytearray(a ^ b for a, b in zip(masked_db, _mgf1_sha256(h, len(masked_db))))
    if unused_bits:
        db[0] &= 0xFF >> unused_bits
    padding_length = em_len - h_len - salt_length - 2
    if any(db[:padding_length]) or db[padding_length] != 0x01:
        return False
    salt = bytes(db[len(db) - salt_length:]) if salt_length else b""
    return hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest() == h


# ---------------------------------------------------------------------------------------------
# JWT
# ---------------------------------------------------------------------------------------------

def encode_jwt(header: dict, claims: dict, key: RsaPrivateKey) -> str:
    """An RS256 compact JWS."""
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + b64url(sign_rs256(key, signing_input.encode("ascii")))


@dataclass(frozen=True)
class Jws:
    header: dict
    claims: dict
    signing_input: bytes
    signature: bytes

    def verify(self, key: RsaPublicKey) -> bool:
        """Checks the signature with the algorithm the header names (RS256 or PS256 only)."""
        algorithm = self.header.get("alg")
        if algorithm == "RS256":
            return verify_rs256(key, self.signing_input, self.signature)
        if algorithm == "PS256":
            return verify_ps256(key, self.signing_input, self.signature)
        return False


def decode_jwt(token: str) -> Jws:
    """Splits and decodes a compact JWS without verifying it; ValueError if it is not one."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise ValueError("a JWT has three dot-separated parts")
    header, claims = (json.loads(b64url_decode(part)) for part in parts[:2])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("JWT header and claims must be JSON objects")
    return Jws(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), b64url_decode(parts[2]))


# ---------------------------------------------------------------------------------------------
# DER and X.509: only the fields Entra looks at
# ---------------------------------------------------------------------------------------------

def _read_tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, value, offset after the element)."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[offset: offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[offset: offset + length], offset + length


def _children(data: bytes) -> list[tuple[int, bytes]]:
    out, offset = [], 0
    while offset < len(data):
        tag, value, offset = _read_tlv(data, offset)
        out.append((tag, value))
    return out


def _oid(value: bytes) -> str:
    first, current = value[0], 0
    arcs = [str(min(first // 40, 2)), str(first - 40 * min(first // 40, 2))]
    for byte in value[1:]:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(str(current))
            current = 0
    return ".".join(arcs)


def _time(tag: int, value: bytes) -> datetime:
    text = value.decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY < 50 means 20YY
        year = int(text[:2])
        text = f"{2000 + year if year < 50 else 1900 + year}{text[2:]}"
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Certificate:
    der: bytes
    public_key: RsaPublicKey | None  # None: not an RSA key
    not_before: datetime
    not_after: datetime

    @property
    def x5t_s256(self) -> str:
        return b64url(hashlib.sha256(self.der).digest())

    @property
    def x5t(self) -> str:
        return b64url(hashlib.sha1(self.der).digest())


def parse_certificate(der: bytes) -> Certificate:
    tag, certificate, end = _read_tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a DER certificate")
    tbs = _children(_children(certificate)[0][1])
    if tbs and tbs[0][0] == 0xA0:  # [0] EXPLICIT version
        tbs = tbs[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    validity, spki = _children(tbs[3][1]), _children(tbs[5][1])
    algorithm = _children(spki[0][1])
    public_key = None
    if _oid(algorithm[0][1]) == RSA_ENCRYPTION_OID:
        bits = spki[1][1]
        (_, n), (_, e) = _children(_read_tlv(bits[1:], 0)[1])  # skip the unused-bits byte
        public_key = RsaPublicKey(int.from_bytes(n, "big"), int.from_bytes(e, "big"))
    return Certificate(der, public_key, _time(*validity[0]), _time(*validity[1]))


def pem_blocks(text: str, label: str) -> list[bytes]:
    """The DER of every `-----BEGIN {label}-----` block in text."""
    blocks, inside, lines = [], False, []
    for line in text.splitlines():
        line = line.strip()
        if line == f"-----BEGIN {label}-----":
            inside, lines = True, []
        elif line == f"-----END {label}-----" and inside:
            blocks.append(base64.b64decode("".join(lines), validate=True))
            inside = False
        elif inside:
            lines.append(line)
    return blocks
