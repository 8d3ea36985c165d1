from webapp.blueprints.maps.routes import bp

__all__ = ["bp"]
