from webapp.blueprints.health.routes import bp

__all__ = ["bp"]
