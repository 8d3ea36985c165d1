from webapp.blueprints.support.routes import bp

__all__ = ["bp"]
