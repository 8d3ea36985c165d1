from webapp.blueprints.auth.routes import bp

__all__ = ["bp"]
