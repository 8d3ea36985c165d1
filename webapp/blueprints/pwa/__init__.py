from webapp.blueprints.pwa.routes import bp

__all__ = ["bp"]
