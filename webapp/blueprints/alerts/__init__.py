from webapp.blueprints.alerts.routes import bp

__all__ = ["bp"]
