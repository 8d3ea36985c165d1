from webapp.blueprints.api import alerts as _alerts  # noqa: F401 - its views, on bp
from webapp.blueprints.api.routes import bp

__all__ = ["bp"]
