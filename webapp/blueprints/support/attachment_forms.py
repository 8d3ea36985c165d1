"""The form that attaches a photo or a PDF to a support request (CSRF checked)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import BooleanField
from wtforms import SubmitField

from webapp.forms import VigieForm


class AttachmentForm(VigieForm):
    """``file`` is checked by its content in :mod:`webapp.services.attachments`, not here;
    ``internal`` is read on the staff's route only."""

    file = FileField(
        _l("Ajouter une photo ou un document"),
        validators=[FileRequired(message=_l("Choisissez un fichier à joindre."))],
    )  # the page's hint (templates/support/_attachment_form.html) tells the size allowed
    internal = BooleanField(_l("Interne (visible du support seulement)"))
    submit = SubmitField(_l("Joindre le fichier"))
