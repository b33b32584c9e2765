"""Member self-report links: signed, expiring, single-use, no login.

A link carries ``<member id>.<campaign id>.<nonce>`` signed with Django's TimestampSigner (SECRET_KEY, a salt
of its own), so it cannot be forged or altered, and the signature's timestamp gives the expiry
(``TRACKING_SELF_REPORT_MAX_AGE_DAYS``, default 60). The nonce identifies this issue of the link: when it is
submitted a SelfReportUse row with that nonce is written, so a second use is recognised as reused.

Rate limiting (``hit_allowed``) counts requests per link and per client IP in the database table
SelfReportHit, so the limit holds across every web process and server (no in-process memory, no per-process
cache). Limits are settings: TRACKING_SELF_REPORT_LINK_LIMIT and TRACKING_SELF_REPORT_IP_LIMIT requests per
TRACKING_SELF_REPORT_WINDOW_SECONDS.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from efnet.ids import parse_id

SALT = "tracking.selfreport.v1"


def max_age() -> timedelta:
    return timedelta(days=getattr(settings, "TRACKING_SELF_REPORT_MAX_AGE_DAYS", 60))


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_token(*, member, campaign, nonce: str | None = None) -> str:
    nonce = nonce or secrets.token_urlsafe(9)
    return _signer().sign(f"{member.pk}.{campaign.pk}.{nonce}")


def self_report_path(*, member, campaign) -> str:
    """The site-relative path of a fresh self-report link for ``member`` in ``campaign``."""
    return reverse("tracking:self_report", kwargs={"token": make_token(member=member, campaign=campaign)})


def self_report_url(*, member, campaign, base_url: str) -> str:
    """The absolute link, e.g. for a notice: ``base_url`` is the site's origin (https://portal.example.jp)."""
    return base_url.rstrip("/") + self_report_path(member=member, campaign=campaign)


class LinkError(Exception):
    """Why a link cannot be used; ``kind`` picks the page shown (tampered, expired, used)."""

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(kind)


@dataclass
class LinkData:
    member_id: int
    campaign_id: int
    nonce: str


def token_nonce(token: str) -> str | None:
    """The nonce of a well-signed token, even an expired one (for the per-link rate limit)."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return None
    parts = value.split(".")
    return parts[2] if len(parts) == 3 else None


def load_token(token: str) -> LinkData:
    """Check signature and age. Raises LinkError("tampered") or LinkError("expired")."""
    signer = _signer()
    try:
        value = signer.unsign(token, max_age=max_age())
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except signing.BadSignature:
        raise LinkError("tampered") from None
    parts = value.split(".")
    if len(parts) != 3 or parse_id(parts[0]) is None or parse_id(parts[1]) is None or not parts[2]:
        raise LinkError("tampered")
    return LinkData(member_id=parse_id(parts[0]), campaign_id=parse_id(parts[1]), nonce=parts[2])


def load_printed_token(token: str) -> LinkData:
    """A token read back from a printed reply form (its QR code): the signature must hold, but not the age,
    since a member may fax the form back after the link itself has expired. Raises LinkError("tampered")."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        raise LinkError("tampered") from None
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2]:
        raise LinkError("tampered")
    return LinkData(member_id=int(parts[0]), campaign_id=int(parts[1]), nonce=parts[2])


def hit_allowed(*, nonce: str | None, ip: str | None) -> bool:
    """Count this request and say whether it is within the limits (per link and per IP)."""
    from tracking.models import SelfReportHit

    window = timedelta(seconds=getattr(settings, "TRACKING_SELF_REPORT_WINDOW_SECONDS", 3600))
    link_limit = getattr(settings, "TRACKING_SELF_REPORT_LINK_LIMIT", 20)
    ip_limit = getattr(settings, "TRACKING_SELF_REPORT_IP_LIMIT", 60)
    now = timezone.now()
    since = now - window
    buckets = []
    if nonce:
        buckets.append((f"link:{nonce}", link_limit))
    if ip:
        buckets.append((f"ip:{ip}"[:80], ip_limit))
    allowed = True
    for bucket, limit in buckets:
        if SelfReportHit.objects.filter(bucket=bucket, at__gte=since).count() >= limit:
            allowed = False
    # Count the attempt even when refused: hammering a link keeps it closed.
    SelfReportHit.objects.bulk_create([SelfReportHit(bucket=bucket) for bucket, _ in buckets])
    # Prune now and then so the table stays small.
    if secrets.randbelow(50) == 0:
        SelfReportHit.objects.filter(at__lt=since).delete()
    return allowed
