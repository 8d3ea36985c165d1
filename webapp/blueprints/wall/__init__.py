from webapp.blueprints.wall.routes import bp

__all__ = ["bp"]
