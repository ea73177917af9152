"""Webhook signature schemes (events-webhooks.md §3). Pure functions over the raw body bytes; every comparison is
constant-time; each failure raises SignatureError with a reason for the log (the client only sees 401)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
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
