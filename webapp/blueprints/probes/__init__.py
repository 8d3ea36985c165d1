from webapp.blueprints.probes import agreements as _agreements  # noqa: F401 - views on bp
from webapp.blueprints.probes import contributions as _contributions  # noqa: F401 - views on bp
from webapp.blueprints.probes import meter as _meter  # noqa: F401 - views on bp
from webapp.blueprints.probes import orders as _orders  # noqa: F401 - views on bp
from webapp.blueprints.probes.routes import bp

__all__ = ["bp"]
