from webapp.blueprints.support import attachments as _attachments  # noqa: F401 - views on bp
from webapp.blueprints.support import stats as _stats  # noqa: F401 - views on bp
from webapp.blueprints.support.routes import bp

__all__ = ["bp"]
