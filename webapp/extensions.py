"""Flask extensions, created unbound and bound in :func:`webapp.create_app`."""

from datetime import datetime

from flask import session
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import DateTime
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import registry


class Base(DeclarativeBase):
    """Declarative base of every model: datetimes are stored with their time zone."""

    registry = registry(type_annotation_map={datetime: DateTime(timezone=True)})


class VigieLoginManager(LoginManager):
    """Flask-Login whose "strong" session protection leaves anonymous sessions alone.

    Flask-Login 0.6 also "protects" a signed-out session that only holds a CSRF token:
    it marks it changed, so every anonymous response sends the cookie again. A request
    that left before the sign-in (the service worker fetching its offline page, a second
    tab) then answers after it with the old cookie and signs the browser out again.
    Only a signed-in session has something to protect.
    """

    def _session_protection_failed(self) -> bool:
        if "_user_id" not in session:
            return False
        return super()._session_protection_failed()


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = VigieLoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
babel = Babel()
talisman = Talisman()
htmx = Htmx()
mail = Mail()
compress = Compress()
socketio = SocketIO()
