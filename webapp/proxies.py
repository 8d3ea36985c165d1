"""Who the client is behind the TLS proxy: exactly ``VIGIE_TRUSTED_PROXIES`` hops trusted.

With ``n`` hops (nginx in front: 1), Werkzeug's :class:`~werkzeug.middleware.proxy_fix.ProxyFix`
takes the client's address from the ``n``-th last ``X-Forwarded-For`` value and the scheme from
``X-Forwarded-Proto``: the rate limits count per real client, ``request.is_secure`` is true
behind an HTTPS proxy. With 0 (the default) Vigie is reached directly and they are the
client's own words: ignored. In both cases every ``X-Forwarded-*`` header is then removed from
the request, so nothing downstream (Talisman's HTTPS redirect and HSTS read
``X-Forwarded-Proto`` themselves) can trust what a client wrote. ``X-Forwarded-Host`` is never
used: the proxy passes ``Host`` (see README.md, Déploiement).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = ["FORWARDED_KEYS", "TrustedProxies"]

#: The WSGI keys of the X-Forwarded-* headers (and the older Forwarded one).
FORWARDED_KEYS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)


class TrustedProxies:
    """WSGI middleware: ``hops`` trusted proxies, then no ``X-Forwarded-*`` header left."""

    def __init__(self, app: Callable, hops: int) -> None:
        self.hops = hops
        self._inner = app
        self._app = ProxyFix(self._forget, x_for=hops, x_proto=hops) if hops else self._forget

    def _forget(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        for key in FORWARDED_KEYS:
            environ.pop(key, None)
        return self._inner(environ, start_response)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        return self._app(environ, start_response)
