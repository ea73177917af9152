"""Webhook signature schemes (events-webhooks.md §3). Pure functions over the raw body bytes; every comparison is
constant-time; each failure raises SignatureError with a reason for the log (the client only sees 401)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """The request is not authentic: missing or malformed header, wrong signature, or stale timestamp."""


def _timestamp(value: str | None, now: float, tolerance_s: int, name: str) -> int:
    if not value:
        raise SignatureError(f"{name} header missing")
    if not value.isdigit():
        raise SignatureError(f"{name} is not unix seconds")
    stamp = int(value)
    if abs(now - stamp) > tolerance_s:
        raise SignatureError(f"{name} is outside the ±{tolerance_s} s window")
    return stamp


def verify_svix(
    secret: str,
    svix_id: str | None,
    svix_timestamp: str | None,
    svix_signature: str | None,
    body: bytes,
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Resend (Svix): base64 HMAC-SHA256 of `<svix-id>.<svix-timestamp>.<body>` with the key after `whsec_`;
    any `v1,<sig>` entry of the space-separated svix-signature header may match."""
    if not svix_id or not svix_signature:
        raise SignatureError("svix-id or svix-signature header missing")
    _timestamp(svix_timestamp, now, tolerance_s, "svix-timestamp")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise SignatureError("RESEND_WEBHOOK_SECRET is not whsec_<base64>") from None
    signed = f"{svix_id}.{svix_timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in svix_signature.split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return
    raise SignatureError("no svix-signature entry matches")


def verify_sendgrid(
    public_key_b64: str,
    signature_b64: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """SendGrid Signed Event Webhook: ECDSA P-256 / SHA-256 over the timestamp header bytes + the raw body."""
    if not signature_b64:
        raise SignatureError("X-Twilio-Email-Event-Webhook-Signature header missing")
    _timestamp(timestamp, now, tolerance_s, "X-Twilio-Email-Event-Webhook-Timestamp")
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
        signature = base64.b64decode(signature_b64, validate=True)
    except (ValueError, binascii.Error):
        raise SignatureError("key or signature is not valid base64 DER") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureError("SENDGRID_WEBHOOK_VERIFICATION_KEY is not an EC public key")
    try:
        key.verify(signature, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr]
    except InvalidSignature:
        raise SignatureError("ECDSA signature does not verify") from None


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """base64(HMAC-SHA1(token, URL + every POST parameter sorted by name, name immediately followed by value))."""
    payload = url + "".join(f"{name}{value}" for name, value in sorted(params, key=lambda item: item[0]))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def verify_twilio(token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> None:
    if not signature:
        raise SignatureError("X-Twilio-Signature header missing")
    if not hmac.compare_digest(twilio_signature(token, url, params).encode(), signature.encode()):
        raise SignatureError("X-Twilio-Signature does not match")


def _hmac_hex(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def parse_kintell_header(header: str) -> tuple[str, str]:
    """`t=<unix seconds>,v1=<hex>`: the first t= and the first v1= part; t must be all digits."""
    parts = [part.strip() for part in header.split(",")]
    stamp = next((part[2:] for part in parts if part.startswith("t=")), None)
    signature = next((part[3:] for part in parts if part.startswith("v1=")), None)
    if stamp is None or signature is None or not stamp.isdigit():
        raise SignatureError("X-Kintell-Signature is not t=<unix seconds>,v1=<hex>")
    return stamp, signature.lower()


def verify_kintell(secret: str, header: str, body: bytes, now: float, tolerance_s: int = DEFAULT_TOLERANCE_S) -> None:
    """HMAC-SHA256 hex over `<t>.<raw body>`, |now − t| ≤ tolerance. Fallback: the same over the compact
    re-serialisation of the parsed JSON (senders that sign their JSON.stringify output)."""
    stamp, signature = parse_kintell_header(header)
    _timestamp(stamp, now, tolerance_s, "X-Kintell-Signature t")
    if hmac.compare_digest(_hmac_hex(secret, stamp.encode() + b"." + body), signature):
        return
    try:
        compact = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SignatureError("X-Kintell-Signature does not match") from None
    if not hmac.compare_digest(_hmac_hex(secret, stamp.encode() + b"." + compact), signature):
        raise SignatureError("X-Kintell-Signature does not match")


def verify_hex_hmac(secret: str, header: str | None, body: bytes, name: str) -> None:
    """Partner HMAC-SHA256 over the raw body: hex, optionally prefixed `sha256=`; decoded bytes compared."""
    if not header:
        raise SignatureError(f"{name} header missing")
    try:
        given = bytes.fromhex(header.strip().removeprefix("sha256="))
    except ValueError:
        raise SignatureError(f"{name} is not hex") from None
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise SignatureError(f"{name} does not match")


def verify_bearer(token: str, authorization: str | None) -> None:
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise SignatureError("Authorization: Bearer <token> missing")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise SignatureError("bearer token does not match")
