from webapp.blueprints.admin import access as _access  # noqa: F401 - views on bp
from webapp.blueprints.admin import agreements as _agreements  # noqa: F401 - views on bp
from webapp.blueprints.admin import contributions as _contributions  # noqa: F401 - views on bp
from webapp.blueprints.admin import journal as _journal  # noqa: F401 - views on bp
from webapp.blueprints.admin import orders as _orders  # noqa: F401 - views on bp
from webapp.blueprints.admin import quota as _quota  # noqa: F401 - views on bp
from webapp.blueprints.admin import service as _service  # noqa: F401 - views on bp
from webapp.blueprints.admin.routes import bp

__all__ = ["bp"]
