from webapp.blueprints.members.routes import bp

__all__ = ["bp"]
