"""Sign-in with ProConnect, the State's OpenID Connect federation for public agents.

Configured by ``VIGIE_OIDC_ISSUER``, ``VIGIE_OIDC_CLIENT_ID`` and ``VIGIE_OIDC_CLIENT_SECRET``
(all three, or the login page shows no ProConnect button). The provider is read from
``<issuer>/.well-known/openid-configuration`` by Authlib's Flask client, which keeps the
authorization request's ``state`` and ``nonce`` (43 characters each, drawn here: Authlib's
own are shorter than ProConnect asks) in the signed session until the callback.

Like :mod:`webapp.security`, this module works with the request and its session; who may
sign in is decided by :func:`webapp.services.accounts.user_for_proconnect`. Every failure
is a :class:`ProConnectError` whose ``reason`` names the case and whose ``message`` is the
French sentence the login page shows.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import Flask
from flask import current_app
from flask import session
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import ClaimError
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

logger = logging.getLogger(__name__)

__all__ = [
    "SCOPES",
    "ProConnectError",
    "ProConnectLogin",
    "authorize_redirect",
    "back_from_logout",
    "complete_login",
    "configured",
    "init_app",
    "logout_url",
    "remember_id_token",
    "take_id_token",
    "verify_userinfo_jwt",
]

#: What Vigie asks ProConnect for (its scopes are named after the claims they give).
SCOPES = "openid given_name usual_name email uid siret idp_id"
CLIENT_NAME = "proconnect"
#: The session key holding the id_token of a ProConnect sign-in (for the logout's hint).
ID_TOKEN_KEY = "proconnect_id_token"
TIMEOUT_S = 10  # every call Vigie makes to the provider (discovery, token, userinfo, JWKS)
_EXTENSION = "authlib.integrations.flask_client"
_JWT_ALGORITHMS = ("RS256", "ES256")  # what ProConnect signs with


class ProConnectError(Exception):
    """The sign-in cannot go on: ``reason`` names the case (audit), ``message`` is French."""

    def __init__(self, reason: str, message: str, status: int = 400) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ProConnectLogin:
    """What a completed authorization gave: the verified claims and the raw id_token."""

    claims: dict[str, Any]
    id_token: str


def configured(app: Flask | None = None) -> bool:
    """Whether the three settings are given (the button shows, the routes answer)."""
    config = (app or current_app).config
    return all(config.get(k) for k in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"))


def init_app(app: Flask) -> None:
    """Register the ProConnect client on ``app`` when it is configured (one per app)."""
    if not configured(app):
        return
    oauth = OAuth(app)
    oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=_discovery_url(app.config["OIDC_ISSUER"]),
        client_kwargs={
            "scope": SCOPES,
            "token_endpoint_auth_method": "client_secret_post",
            "default_timeout": TIMEOUT_S,
        },
    )


def _discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def _client():
    return current_app.extensions[_EXTENSION].create_client(CLIENT_NAME)


def _unverified(reason: str) -> ProConnectError:
    """An answer that fails a check (signature, issuer, nonce, subject…): one message."""
    return ProConnectError(
        reason, _("La réponse de ProConnect n’a pas pu être vérifiée. Veuillez recommencer.")
    )


def _unreachable() -> ProConnectError:
    return ProConnectError(
        "unreachable",
        _("ProConnect ne répond pas pour le moment. Réessayez dans quelques minutes."),
        503,
    )


def _metadata() -> dict[str, Any]:
    try:
        return _client().load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("ProConnect discovery failed: %s", exc)
        raise _unreachable() from exc


def authorize_redirect(redirect_uri: str):
    """The redirect to ProConnect's authorization endpoint (state and nonce kept in session)."""
    _metadata()
    try:
        return _client().authorize_redirect(
            redirect_uri, state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32)
        )
    except requests.RequestException as exc:
        raise _unreachable() from exc


def complete_login() -> ProConnectLogin:
    """Check the callback and return the agent's claims, from the verified userinfo.

    Raises :class:`ProConnectError` for an error answer of the provider, an answer naming
    another issuer (``iss``, RFC 9207), an unknown or
    replayed ``state``, a code the provider refuses (expired, used), an id_token whose
    signature, issuer, audience, expiry or ``nonce`` is wrong, a userinfo whose signature
    or subject is wrong, or a provider that does not answer.
    """
    from flask import request

    client = _client()
    if request.args.get("error"):
        logger.info(
            "ProConnect answered an error: %s (%s)",
            request.args.get("error"),
            request.args.get("error_description", ""),
        )
        raise ProConnectError(
            "provider_error", _("ProConnect n’a pas pu vous identifier. Veuillez réessayer.")
        )
    issuer = _metadata().get("issuer")
    if "iss" in request.args and request.args["iss"] != issuer:  # RFC 9207: another provider
        raise _unverified("issuer")
    try:
        token = client.authorize_access_token()
    except MismatchingStateError as exc:
        raise ProConnectError(
            "state",
            _("Cette demande de connexion n’est plus valable. Veuillez recommencer."),
        ) from exc
    except ClaimError as exc:
        raise _unverified("nonce" if exc.claim == "nonce" else "id_token") from exc
    except JoseError as exc:
        raise _unverified("id_token") from exc
    except AuthlibBaseError as exc:  # the token endpoint refused
        logger.warning("ProConnect token request refused: %s", exc)
        if getattr(exc, "error", None) != "invalid_grant":  # invalid_client: our settings
            raise ProConnectError(
                "client",
                _(
                    "ProConnect refuse pour le moment les connexions à Vigie. Utilisez votre "
                    "mot de passe et prévenez le support."
                ),
                503,
            ) from exc
        raise ProConnectError(
            "code",
            _("Ce code de connexion a expiré ou a déjà servi. Veuillez recommencer."),
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable() from exc
    id_claims = token.get("userinfo")
    if not id_claims or "id_token" not in token:
        raise _unverified("id_token")
    claims = _userinfo(token)
    if claims.get("sub") != id_claims.get("sub"):
        raise _unverified("userinfo")
    return ProConnectLogin(claims=claims, id_token=token["id_token"])


def _userinfo(token: dict[str, Any]) -> dict[str, Any]:
    """The userinfo of ``token``: a signed JWT (what ProConnect sends) verified, or JSON."""
    metadata = _metadata()
    try:
        response = _client().get(metadata["userinfo_endpoint"], token=token)
        response.raise_for_status()
    except requests.RequestException as exc:
        logger.warning("ProConnect userinfo failed: %s", exc)
        raise _unreachable() from exc
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind == "application/jwt":
        return verify_userinfo_jwt(response.text)
    try:
        data = response.json()
    except ValueError as exc:
        raise _unverified("userinfo") from exc
    if not isinstance(data, dict):
        raise _unverified("userinfo")
    return data


def verify_userinfo_jwt(value: str) -> dict[str, Any]:
    """The claims of a signed userinfo, after checking its signature against the provider's
    JWKS and its issuer and audience (this client)."""
    client = _client()
    metadata = _metadata()
    algorithms = metadata.get("userinfo_signing_alg_values_supported") or list(_JWT_ALGORITHMS)
    registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
    try:
        try:
            keys = KeySet.import_key_set(client.fetch_jwk_set())
            decoded = jwt.decode(value, keys, registry=registry)
        except InvalidKeyIdError:  # the provider rotated its keys
            keys = KeySet.import_key_set(client.fetch_jwk_set(force=True))
            decoded = jwt.decode(value, keys, registry=registry)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": metadata.get("issuer")},
            aud={"essential": True, "value": client.client_id},
            sub={"essential": True},
        ).validate(decoded.claims)
    except requests.RequestException as exc:
        raise _unreachable() from exc
    except (JoseError, ValueError) as exc:
        logger.warning("ProConnect userinfo JWT refused: %s", exc)
        raise _unverified("userinfo") from exc
    return dict(decoded.claims)


def remember_id_token(id_token: str) -> None:
    """Keep the id_token of this browser's ProConnect sign-in (signed session)."""
    session[ID_TOKEN_KEY] = id_token


def take_id_token() -> str | None:
    """Forget and return the id_token of this browser's ProConnect sign-in, if any."""
    return session.pop(ID_TOKEN_KEY, None)


def back_from_logout(state: str) -> bool:
    """Forget the logout ``state`` the provider sent back; whether it was this browser's."""
    client = _client()
    known = client.framework.get_state_data(session, state) is not None
    client.framework.clear_state_data(session, state)
    return known


def logout_url(id_token: str, post_logout_redirect_uri: str) -> str | None:
    """The provider's end-session URL for ``id_token`` (its ``state`` kept in session), or
    ``None`` when the provider has no end-session endpoint or does not answer."""
    try:
        metadata = _client().load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("ProConnect discovery failed at logout: %s", exc)
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    response = _client().logout_redirect(
        post_logout_redirect_uri=post_logout_redirect_uri,
        id_token_hint=id_token,
        state=secrets.token_urlsafe(32),
    )
    return response.location
