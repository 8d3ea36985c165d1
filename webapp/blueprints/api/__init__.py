from webapp.blueprints.api import alerts as _alerts  # noqa: F401 - its views, on bp
from webapp.blueprints.api import contributions as _contributions  # noqa: F401 - views on bp
from webapp.blueprints.api import pools as _pools  # noqa: F401 - views on bp
from webapp.blueprints.api import support as _support  # noqa: F401 - views on bp
from webapp.blueprints.api import support_attachments as _support_attachments  # noqa: F401 - views on bp
from webapp.blueprints.api.routes import bp

__all__ = ["bp"]
