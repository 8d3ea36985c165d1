from webapp.blueprints.legal.routes import bp

__all__ = ["bp"]
