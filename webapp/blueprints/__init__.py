"""One package per area; each exposes ``bp``."""

from flask import Flask


def register_all(app: Flask) -> None:
    from webapp.blueprints.admin import bp as admin_bp
    from webapp.blueprints.alerts import bp as alerts_bp
    from webapp.blueprints.api import bp as api_bp
    from webapp.blueprints.auth import bp as auth_bp
    from webapp.blueprints.health import bp as health_bp
    from webapp.blueprints.legal import bp as legal_bp
    from webapp.blueprints.maps import bp as maps_bp
    from webapp.blueprints.members import bp as members_bp
    from webapp.blueprints.probes import bp as probes_bp
    from webapp.blueprints.profile import bp as profile_bp
    from webapp.blueprints.pwa import bp as pwa_bp
    from webapp.blueprints.support import bp as support_bp
    from webapp.blueprints.wall import bp as wall_bp

    for blueprint in (
        auth_bp,
        members_bp,
        maps_bp,
        support_bp,
        admin_bp,
        profile_bp,
        api_bp,
        health_bp,
        wall_bp,
        pwa_bp,
        alerts_bp,
        probes_bp,
        legal_bp,
    ):
        app.register_blueprint(blueprint)
