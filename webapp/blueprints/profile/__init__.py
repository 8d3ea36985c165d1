from webapp.blueprints.profile import alerts as _alerts  # noqa: F401 - its views, on bp
from webapp.blueprints.profile.routes import bp

__all__ = ["bp"]
