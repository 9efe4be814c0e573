"""Standard Webhooks signatures: what the deliverer signs, checked the way docs/webhooks.md
tells a receiver to check it (the snippet is copied here verbatim)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from api.webhooks import signing


def verify_as_documented(secret: str, headers: dict[str, str], body: bytes) -> bool:
    # --- the snippet of docs/webhooks.md ---
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False  # too old (or from the future): a replayed request
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(f"v1,{expected}", candidate)
        for candidate in headers["webhook-signature"].split()
    )
    # --- end of the snippet ---


BODY = b'{"position":7,"type":"MilestoneAchieved"}'


def test_a_delivery_signed_with_the_secret_verifies_with_the_documented_snippet() -> None:
    secret = signing.new_secret()

    headers = signing.headers(secret, "msg_1", BODY)

    assert verify_as_documented(secret, headers, BODY)
    assert signing.verify(secret, headers, BODY)


def test_a_changed_body_does_not_verify() -> None:
    secret = signing.new_secret()
    headers = signing.headers(secret, "msg_1", BODY)

    assert not verify_as_documented(secret, headers, BODY.replace(b"7", b"8"))
    assert not signing.verify(secret, headers, BODY.replace(b"7", b"8"))


def test_another_secret_does_not_verify() -> None:
    headers = signing.headers(signing.new_secret(), "msg_1", BODY)

    assert not verify_as_documented(signing.new_secret(), headers, BODY)


def test_an_old_timestamp_does_not_verify() -> None:
    secret = signing.new_secret()
    headers = signing.headers(secret, "msg_1", BODY, now=time.time() - 3600)

    assert not verify_as_documented(secret, headers, BODY)
    assert not signing.verify(secret, headers, BODY)


def test_the_signature_matches_the_standard_webhooks_reference_vector() -> None:
    # The example of the Standard Webhooks specification (and its reference libraries).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'

    got = signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)

    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
