"""Web Push: the server's VAPID keys and the user's subscribed devices.

The private key is made once (``flask vigie push keys``) and kept on the server in
``VAPID_PRIVATE_KEY_FILE`` (default ``instance/vapid_private.pem``, mode 0600). A browser
subscribes with the public key and sends its ``PushSubscription.toJSON()``; we keep the
endpoint and the two keys, after checking that the endpoint is a URL the server may
POST to (https on a public address: no request towards an internal host).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import os
import re
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask import has_app_context
from flask_babel import gettext as _
from py_vapid import Vapid
from sqlalchemy import select

from webapp.channels.base import ChannelName
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models import PushSubscription
from webapp.models import User
from webapp.services import outbox
from webapp.services.errors import NotFound
from webapp.services.errors import ValidationError

logger = logging.getLogger(__name__)

ENDPOINT_MAX = 2048
INSTANCE = Path(__file__).resolve().parents[2] / "instance"  # as in create_app()
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


class KeyExists(Exception):
    """A VAPID key exists already and ``force`` was not given."""


# -- keys ------------------------------------------------------------------------------


def key_path(config: Mapping[str, Any] | None = None) -> Path:
    """Where the VAPID private key lives (``VAPID_PRIVATE_KEY_FILE`` or the instance)."""
    config = config if config is not None else current_app.config
    configured = config.get("VAPID_PRIVATE_KEY_FILE")
    if configured:
        return Path(configured)
    # registry.build() may run outside an app context: the factory's instance folder
    instance = Path(current_app.instance_path) if has_app_context() else INSTANCE
    return instance / "vapid_private.pem"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_keys(force: bool = False, config: Mapping[str, Any] | None = None) -> str:
    """Make the VAPID key pair, save the private key (0600) and return the public key.

    An existing key is kept unless ``force``: every browser subscribed with it would
    have to subscribe again.
    """
    path = key_path(config)
    if path.exists() and not force:
        raise KeyExists(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    vapid = Vapid()
    vapid.generate_keys()
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(vapid.private_pem())
    os.replace(tmp, path)
    os.chmod(path, 0o600)
    logger.info("VAPID key written to %s", path)
    return _public_of(vapid)


def load_vapid(config: Mapping[str, Any] | None = None) -> Vapid | None:
    """The server's VAPID key, or ``None`` when none was made."""
    path = key_path(config)
    if not path.is_file():
        return None
    return Vapid.from_file(str(path))


def _public_of(vapid: Vapid) -> str:
    return b64url(
        vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def public_key(config: Mapping[str, Any] | None = None) -> str | None:
    """The application server key a browser subscribes with (base64url), or ``None``."""
    try:
        vapid = load_vapid(config)
    except Exception:  # noqa: BLE001 - an unreadable key is "no key", and logged
        logger.exception("VAPID key unreadable")
        return None
    return _public_of(vapid) if vapid else None


# -- endpoint check --------------------------------------------------------------------


def allow_loopback(config: Mapping[str, Any] | None = None) -> bool:
    """``PUSH_ALLOW_LOOPBACK``; unset means true outside production."""
    config = config if config is not None else current_app.config
    value = config.get("PUSH_ALLOW_LOOPBACK")
    if value is None:
        return config.get("ENV") != "production"
    return bool(value)


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    found = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        found.append(address)
    return found


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_endpoint(endpoint: str, config: Mapping[str, Any] | None = None) -> str:
    """The endpoint if the server may POST to it; :class:`ValidationError` otherwise.

    Always https to a host whose every address is public. With ``PUSH_ALLOW_LOOPBACK``
    (development, tests), http or https to a loopback address is accepted too.
    """
    refused = ValidationError({"endpoint": _("Adresse du service de notification refusée.")})
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > ENDPOINT_MAX:
        raise refused
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise refused from None
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise refused
    addresses = _addresses(host)
    if not addresses:
        raise ValidationError(
            {"endpoint": _("Service de notification introuvable (nom d’hôte inconnu).")}
        )
    loopback_ok = allow_loopback(config)
    if loopback_ok and all(a.is_loopback for a in addresses):
        return endpoint
    if parts.scheme != "https":
        raise ValidationError(
            {"endpoint": _("Le service de notification doit être joint en https.")}
        )
    if not all(_public(a) for a in addresses):
        raise ValidationError(
            {"endpoint": _("Le service de notification n’a pas une adresse publique.")}
        )
    return endpoint


# -- subscriptions ---------------------------------------------------------------------


def _key_field(keys: Mapping[str, Any], name: str, length: int) -> str:
    value = keys.get(name)
    message = {
        "p256dh": _("Clé « p256dh » invalide : clé publique P-256 attendue (base64url)."),
        "auth": _("Clé « auth » invalide : 16 octets attendus (base64url)."),
    }[name]
    if not isinstance(value, str) or len(value) > 2 * length or not _B64URL.match(value):
        raise ValidationError({f"keys.{name}": message})
    try:
        raw = b64url_decode(value.rstrip("="))
    except (binascii.Error, ValueError):
        raise ValidationError({f"keys.{name}": message}) from None
    if len(raw) != length:
        raise ValidationError({f"keys.{name}": message})
    if name == "p256dh":
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise ValidationError({f"keys.{name}": message}) from None
    return value.rstrip("=")


def parse_subscription(payload: Any, config: Mapping[str, Any] | None = None) -> dict:
    """Check a browser's ``PushSubscription.toJSON()``; its endpoint and keys."""
    if not isinstance(payload, Mapping):
        raise ValidationError(
            {"subscription": _("Abonnement attendu : l’objet PushSubscription.toJSON().")}
        )
    keys = payload.get("keys")
    if not isinstance(keys, Mapping):
        raise ValidationError({"keys": _("Champ « keys » manquant (p256dh et auth).")})
    p256dh = _key_field(keys, "p256dh", 65)
    auth = _key_field(keys, "auth", 16)
    endpoint = check_endpoint(payload.get("endpoint"), config)
    return {"endpoint": endpoint, "p256dh": p256dh, "auth": auth}


def device_label(user_agent: str | None) -> str:
    """« Chrome sur Android », « Safari sur iPhone »… from a User-Agent."""
    ua = user_agent or ""
    if "iPhone" in ua:
        system = "iPhone"
    elif "iPad" in ua:
        system = "iPad"
    elif "Android" in ua:
        system = "Android"
    elif "CrOS" in ua:
        system = "ChromeOS"
    elif "Windows" in ua:
        system = "Windows"
    elif "Macintosh" in ua or "Mac OS X" in ua:
        system = "Mac"
    elif "Linux" in ua:
        system = "Linux"
    else:
        system = None
    if "Edg/" in ua or "EdgA/" in ua or "EdgiOS/" in ua:
        browser = "Edge"
    elif "OPR/" in ua or "Opera" in ua:
        browser = "Opera"
    elif "SamsungBrowser/" in ua:
        browser = "Samsung Internet"
    elif "Firefox/" in ua or "FxiOS/" in ua:
        browser = "Firefox"
    elif "Chrome/" in ua or "Chromium/" in ua or "CriOS/" in ua:
        browser = "Chrome"
    elif "Safari/" in ua or (system in ("iPhone", "iPad") and "AppleWebKit" in ua):
        browser = "Safari"
    else:
        browser = None
    if browser and system:
        return _("%(browser)s sur %(system)s", browser=browser, system=system)[:120]
    return (browser or system or _("Navigateur inconnu"))[:120]


def subscribe(
    user: User, subscription_json: Any, user_agent: str | None = None
) -> tuple[PushSubscription, bool]:
    """Record a device; ``(row, created)``. The same endpoint again updates its row.

    An endpoint known for another user moves to this one (the same browser, a
    different person logged in): a push service endpoint belongs to one browser.
    """
    fields = parse_subscription(subscription_json)
    row = db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == fields["endpoint"])
    )
    created = row is None
    if row is None:
        row = PushSubscription(endpoint=fields["endpoint"])
        db.session.add(row)
    elif row.user_id != user.id:
        logger.info("Push endpoint %s moves to user %s", row.id, user.id)
    row.user = user
    row.p256dh = fields["p256dh"]
    row.auth = fields["auth"]
    row.label = device_label(user_agent)
    db.session.commit()
    return row, created


def get(user: User, subscription_id: int) -> PushSubscription:
    """One of the user's devices; :class:`NotFound` for another's."""
    if not 0 < subscription_id < 2**31:  # beyond any id, and beyond the column's range
        raise NotFound(subscription_id)
    row = db.session.get(PushSubscription, subscription_id)
    if row is None or row.user_id != user.id:
        raise NotFound(subscription_id)
    return row


def unsubscribe(user: User, subscription_id: int) -> PushSubscription:
    """Forget one of the user's devices."""
    row = get(user, subscription_id)
    db.session.delete(row)
    db.session.commit()
    return row


def devices(user: User) -> list[PushSubscription]:
    """The user's subscribed devices, newest first."""
    return list(
        db.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        )
    )


def send_test(user: User, subscription: PushSubscription, url: str | None = None) -> Delivery:
    """Queue a test notification to one device (committed; the worker sends it)."""
    if subscription.user_id != user.id:
        raise NotFound(subscription.id)
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")
    key = f"push-test:{subscription.id}:{secrets.token_hex(8)}"
    delivery = outbox.enqueue(
        key=key,
        user=user,
        channel=ChannelName.PUSH,
        kind="test",
        subject=_("Vigie : notification de test"),
        body=_(
            "Les alertes de Vigie arriveront ainsi sur « %(device)s ».", device=subscription.label
        ),
        data={
            "subscription_id": subscription.id,
            "url": url or f"{base}/",
            "severity": 3,
            "topic": f"test-{subscription.id}",
        },
    )
    db.session.commit()
    assert delivery is not None  # the key is random
    return delivery
