from webapp.blueprints.api.routes import bp

__all__ = ["bp"]
