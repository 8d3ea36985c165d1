"""Template filters and globals: labels, states, dates. Templates only display."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask import request
from flask import url_for
from flask_babel import format_timedelta
from flask_babel import get_locale
from flask_login import current_user

from topology.problems import impact_of
from webapp import access
from webapp import icons
from webapp.forms import ConfirmForm
from webapp.forms import LanguageForm
from webapp.live.diff import display_state
from webapp.models.choices import MEMBER_KIND_LABELS
from webapp.models.choices import MEMBER_ROLE_LABELS
from webapp.models.choices import ROLE_LABELS
from webapp.models.choices import SEVERITY_LABELS
from webapp.models.choices import STAFF_ROLE_LABELS
from webapp.models.choices import STATE_DISPLAY
from webapp.models.choices import HealthState
from webapp.presenters import alerts as alerts_view
from webapp.presenters import clock
from webapp.presenters import live
from webapp.presenters import problems as problems_view
from webapp.services import deliveries


def state_display(state: str) -> dict[str, str]:
    """Label, CSS modifier and glyph of a state (never colour alone)."""
    try:
        label, modifier, glyph = STATE_DISPLAY[HealthState(str(state))]
    except ValueError:
        label, modifier, glyph = STATE_DISPLAY[HealthState.UNKNOWN]
    return {"label": str(label), "modifier": modifier, "glyph": glyph}


def datetime_short(moment: datetime | None) -> str:
    """« 30/11/2026 à 20 h 09 »: the portal's one clock."""
    return clock.moment(moment)


def age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return format_timedelta(seconds, threshold=1.1, add_direction=False)


def icon_href(role: str) -> str:
    """The map sprite's symbol for ``role`` (or ``group``), for ``<use href>``: the
    sprite's content-hashed URL and the symbol's fragment; an unknown role draws ``other``."""
    return url_for("static", filename=icons.SPRITE) + "#" + icons.symbol_id(role)


def unread_notifications() -> int:
    """The header's badge: the signed-in user's unread portal notifications (one COUNT)."""
    if not current_user.is_authenticated:
        return 0
    return deliveries.unread_count(current_user.id)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        display_state=display_state,
        datetime_short=datetime_short,
        clock_time=lambda moment: clock.time_of_day(moment) if moment else "—",
        since=lambda moment: clock.since(moment) if moment else "",
        age=age,
        kind_label=lambda kind: MEMBER_KIND_LABELS.get(kind, kind),
        member_role_label=lambda role: MEMBER_ROLE_LABELS.get(role, role),
        staff_role_label=lambda role: STAFF_ROLE_LABELS.get(role, role),
        role_label=lambda role: ROLE_LABELS.get(role, ROLE_LABELS["other"]),
        severity_label=lambda sev: SEVERITY_LABELS.get(int(sev), "") if sev is not None else "",
        problem_title=problems_view.title_of,
        impact_label=lambda sev: problems_view.IMPACT_LABELS[impact_of(sev)],
    )
    app.jinja_env.globals.update(
        state_display=state_display,
        icon_href=icon_href,
        freshness_view=live.freshness_view,
        can_administer=access.can_administer,
        unread_notifications=unread_notifications,
        unread_label=alerts_view.unread_label,
    )

    @app.context_processor
    def common():
        return {
            "current_locale": str(get_locale() or "fr"),
            # Rendered only (they post elsewhere): never read this request's body, which
            # may be the one refused as too large while its error page renders.
            "language_form": LanguageForm(
                formdata=None, lang=str(get_locale() or "fr"), next=request.full_path.rstrip("?")
            ),
            "logout_form": ConfirmForm(formdata=None),
        }
