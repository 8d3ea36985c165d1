from webapp.blueprints.profile.routes import bp

__all__ = ["bp"]
