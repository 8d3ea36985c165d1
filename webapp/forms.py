"""Flask-WTF forms (CSRF on every one) and the validators they share."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField
from wtforms import EmailField
from wtforms import Form
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields import FileField as AnyFileField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import EqualTo
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp
from wtforms.validators import ValidationError

from webapp.models.choices import MEMBER_KIND_LABELS
from webapp.models.choices import MEMBER_ROLE_LABELS
from webapp.models.choices import SUPPORT_URGENCY_LABELS
from webapp.services import phones
from webapp.services.errors import ValidationError as ServiceValidationError

LANGUAGE_CHOICES = [SelectChoice("fr", "Français"), SelectChoice("en", "English")]
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk"}


class VigieForm(FlaskForm):
    """The portal's forms: Flask-WTF's (CSRF), reading uploaded files into file fields only.

    Flask-WTF hands a form every part of the request, files included: a file sent under a
    text field's name would reach its validators and the view as a ``FileStorage``
    (a ``TypeError`` in ``Length``, ``Email``, ``.strip()``…). Here a text field only ever
    sees text; a file where text is expected is simply absent (« Ce champ est obligatoire »).
    """

    class Meta:
        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            if not isinstance(formdata, CombinedMultiDict):
                return formdata
            wanted = {field.name for field in form if isinstance(field, AnyFileField)}
            files = MultiDict([(k, v) for k, v in request.files.items(multi=True) if k in wanted])
            return CombinedMultiDict([files, request.form]) if files else request.form


def _strip(value):
    """A filter: text without surrounding spaces (a blank optional field is empty, not data)."""
    return value.strip() if isinstance(value, str) else value


class PlainText:
    """Refuse markup, control characters and pictographs (emoji) in a text field."""

    def __init__(self, message: str | None = None, multiline: bool = False) -> None:
        self.message = message
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        value = field.data or ""
        for char in value:
            if self.multiline and char in "\r\n\t":
                continue
            if char in "<>" or unicodedata.category(char) in FORBIDDEN_CATEGORIES:
                raise ValidationError(
                    self.message
                    or _l(
                        "Caractère non autorisé : utilisez du texte simple, sans balise ni emoji."
                    )
                )


class MobileNumber:
    """A mobile number ``phones.normalise`` accepts (« 06 12 34 56 78 », « +32 … »)."""

    def __call__(self, form, field) -> None:
        try:
            phones.normalise(field.data)
        except ServiceValidationError as exc:
            raise ValidationError(exc.errors["phone"]) from None


def apply_errors(
    form: Form,
    exc: ServiceValidationError,
    default: str,
    aliases: Mapping[str, str] | None = None,
) -> None:
    """Copy a service's refusal onto ``form``: each message under its field.

    ``aliases`` renames a service field to a form field (``host_groups`` -> ``host_group``);
    a message about a field the form does not have goes under ``default``.
    """
    for name, message in exc.errors.items():
        name = (aliases or {}).get(name, name)
        form[name if name in form else default].errors.append(message)


def _required():
    return DataRequired(message=_l("Ce champ est obligatoire."))


def _length(maximum: int, minimum: int = 0):
    return Length(
        min=minimum,
        max=maximum,
        message=_l("Entre %(min)d et %(max)d caractères.", min=minimum, max=maximum)
        if minimum
        else _l("%(max)d caractères au plus.", max=maximum),
    )


def _email_validators():
    return [
        _required(),
        _length(254),
        Email(message=_l("Adresse électronique invalide."), check_deliverability=False),
    ]


class LoginForm(VigieForm):
    email = EmailField(_l("Adresse électronique"), validators=_email_validators())
    password = PasswordField(_l("Mot de passe"), validators=[_required(), _length(256)])
    next = HiddenField()
    submit = SubmitField(_l("Se connecter"))


class SecondStepForm(VigieForm):
    """The second step of a sign-in: a code of the application, or else a recovery code
    (two forms on the page, one field each: the first gets a numeric keyboard)."""

    code = StringField(
        _l("Code de vérification"),
        validators=[Optional(), _length(32)],
        filters=[_strip],
        description=_l("Les 6 chiffres affichés par votre application d’authentification."),
    )
    recovery = StringField(
        _l("Code de secours"),
        validators=[Optional(), _length(32)],
        filters=[_strip],
        description=_l("Un des 10 codes reçus à l’activation (par exemple « abcde-fghjk »)."),
    )
    submit = SubmitField(_l("Vérifier"))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not (self.code.data or self.recovery.data):
            self.code.errors = [_l("Ce champ est obligatoire.")]
            return False
        return True

    @property
    def typed(self) -> str:
        return self.code.data or self.recovery.data or ""


class TotpCodeForm(VigieForm):
    """A code of the application (confirming enrolment, renewing recovery codes)."""

    code = StringField(
        _l("Code à 6 chiffres"),
        validators=[_required(), _length(32)],
        filters=[_strip],
        description=_l("Le code affiché en ce moment par votre application."),
    )
    submit = SubmitField(_l("Confirmer"))


class DisableTwoFactorForm(VigieForm):
    password = PasswordField(_l("Mot de passe"), validators=[_required(), _length(256)])
    code = StringField(
        _l("Code de vérification"),
        validators=[_required(), _length(32)],
        filters=[_strip],
        description=_l("Un code de votre application, ou un code de secours inutilisé."),
    )
    submit = SubmitField(_l("Désactiver la double authentification"))


class ForgotPasswordForm(VigieForm):
    email = EmailField(_l("Adresse électronique"), validators=_email_validators())
    submit = SubmitField(_l("Recevoir un lien"))


class SetPasswordForm(VigieForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[_required(), _length(256, 12)],
        description=_l(
            "12 caractères au moins. Une phrase de quelques mots sans rapport avec vous est "
            "idéale ; les mots de passe courants ou déjà divulgués sont refusés."
        ),
    )
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[_required(), EqualTo("password", _l("Les deux mots de passe diffèrent."))],
    )
    submit = SubmitField(_l("Enregistrer le mot de passe"))


class MemberForm(VigieForm):
    name = StringField(_l("Nom"), validators=[_required(), _length(160), PlainText()])
    slug = StringField(
        _l("Identifiant (dans les adresses)"),
        validators=[
            _required(),
            _length(63),
            Regexp(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                message=_l("Minuscules, chiffres et tirets uniquement."),
            ),
        ],
        description=_l("Par exemple : sarralbe"),
    )
    kind = SelectField(
        _l("Type"),
        choices=[SelectChoice(k.value, label) for k, label in MEMBER_KIND_LABELS.items()],
    )
    siren = StringField(
        _l("SIREN"),
        filters=[_strip],
        validators=[Optional(), Regexp(r"^\d{9}$", message=_l("9 chiffres."))],
    )
    host_group = StringField(
        _l("Groupe d'hôtes Zabbix"),
        validators=[_required(), _length(255), PlainText()],
        description=_l("Par exemple : Membres/sarralbe"),
    )
    # Optional contact details: blank is nothing (None), never a value of spaces.
    contact_name = StringField(
        _l("Contact"), filters=[_strip], validators=[Optional(), _length(120), PlainText()]
    )
    contact_email = EmailField(
        _l("Courriel du contact"),
        filters=[_strip],
        validators=[
            Optional(),
            _length(254),
            Email(message=_l("Adresse électronique invalide."), check_deliverability=False),
        ],
    )
    contact_phone = StringField(
        _l("Téléphone du contact"),
        filters=[_strip],
        validators=[
            Optional(),
            Regexp(r"^\+?[0-9 .()-]{6,20}$", message=_l("Numéro de téléphone invalide.")),
        ],
    )
    submit = SubmitField(_l("Créer le membre"))


class InviteForm(VigieForm):
    email = EmailField(_l("Adresse électronique"), validators=_email_validators())
    name = StringField(_l("Nom et prénom"), validators=[_required(), _length(120), PlainText()])
    role = SelectField(
        _l("Rôle"),
        choices=[SelectChoice(r.value, label) for r, label in MEMBER_ROLE_LABELS.items()],
    )
    submit = SubmitField(_l("Inviter"))


class ProfileForm(VigieForm):
    name = StringField(_l("Nom et prénom"), validators=[_required(), _length(120), PlainText()])
    phone = StringField(
        _l("Téléphone mobile"),
        validators=[Optional(), MobileNumber()],
        description=_l("Par exemple 06 12 34 56 78, ou +32 470 12 34 56 hors de France."),
    )
    locale = SelectField(_l("Langue"), choices=LANGUAGE_CHOICES)
    submit = SubmitField(_l("Enregistrer"))


class TokenForm(VigieForm):
    token_name = StringField(
        _l("Nom du jeton"),
        validators=[_required(), _length(80), PlainText()],
        description=_l("Pour vous en souvenir, par exemple : script de sauvegarde"),
    )
    submit = SubmitField(_l("Créer un jeton"))


class ConfirmForm(VigieForm):
    """A button-only form (logout, revoke...): CSRF token and nothing else."""

    submit = SubmitField(_l("Confirmer"))


class DemoActionForm(VigieForm):
    host = StringField(
        _l("Équipement (nom technique)"), validators=[_required(), _length(128), PlainText()]
    )
    action = SelectField(
        _l("Action"),
        choices=[
            SelectChoice("fail", _l("Simuler une panne")),
            SelectChoice("repair", _l("Réparer")),
        ],
    )
    submit = SubmitField(_l("Appliquer"))


class LanguageForm(VigieForm):
    lang = SelectField(_l("Langue"), choices=LANGUAGE_CHOICES)
    next = HiddenField()
    submit = SubmitField(_l("Changer"))


class SupportForm(VigieForm):
    """A new support request (member side; staff add the member and who called).

    Subject and description are free text, as through the API: stored as typed, always
    rendered escaped; :func:`webapp.services.support.parse_new` checks them for both.
    Category choices come from the configuration (set by the view).
    """

    subject = StringField(_l("Objet"))
    message = TextAreaField(
        _l("Votre demande"),
        description=_l("Décrivez ce que vous constatez : depuis quand, où, ce qui ne marche pas."),
    )
    category = SelectField(_l("Catégorie"), choices=[], validate_choice=False)
    urgency = RadioField(
        _l("Urgence"),
        choices=[SelectChoice(u.value, label) for u, label in SUPPORT_URGENCY_LABELS.items()],
        default="normal",
        validate_choice=False,
        description=_l("Critique : le service est arrêté pour tout le monde."),
    )
    contact = StringField(
        _l("Qui a appelé (nom, téléphone)"),
        description=_l("Facultatif : la personne à rappeler."),
    )
    member = SelectField(_l("Membre"), choices=[], validate_choice=False)
    hostid = HiddenField()
    submit = SubmitField(_l("Envoyer la demande"))


class SupportCommentForm(VigieForm):
    """A reply in a request's thread; ``internal`` (staff only) makes it a note."""

    body = TextAreaField(_l("Votre message"))
    internal = BooleanField(_l("Note interne (visible du support seulement)"))
    version = HiddenField()
    submit = SubmitField(_l("Envoyer"))


class SupportStatusForm(VigieForm):
    """A change of status; ``resolution`` tells the member what was done."""

    status = HiddenField()
    resolution = TextAreaField(
        _l("Ce qui a été fait"),
        description=_l("En français simple : le membre le reçoit tel quel."),
    )
    version = HiddenField()


class SupportAssignForm(VigieForm):
    assignee = SelectField(_l("Attribuée à"), choices=[], validate_choice=False)
    version = HiddenField()
    submit = SubmitField(_l("Attribuer"))


class SupportRatingForm(VigieForm):
    rating = HiddenField()
    comment = TextAreaField(_l("Un mot sur la réponse (facultatif)"))


# ---- pool orders (/membres/<slug>/commandes, /admin/commandes) ------------------------------
# The pool count is checked by webapp.services.orders (shared with the API); the key makes a
# double submit, a refresh or a back-and-resubmit return the same order. Notes and reasons are
# free text, as through the API (« moins de 100 < prévu » is a sentence): stored as typed,
# always rendered escaped.


class PoolOrderForm(VigieForm):
    pools = StringField(_l("Nombre de pools"))
    note = TextAreaField(
        _l("Message au syndicat (facultatif)"),
        validators=[Optional(), _length(2000)],
    )
    key = HiddenField()
    step = HiddenField()


class RejectOrderForm(VigieForm):
    reason = TextAreaField(
        _l("Motif du refus"),
        validators=[_required(), _length(2000)],
        description=_l("Le membre le lira : dites ce qui manque ou ce qu’il peut faire."),
    )
    submit = SubmitField(_l("Refuser"))


# ---- alert settings (/profil/alertes, /membres/<slug>/alertes) ------------------------------
# The service checks every value (webapp.services.alert_rules.check, shared with the API):
# these forms carry them, with CSRF, and turn them into the API's shape.


class AlertRuleForm(VigieForm):
    channels = SelectMultipleField(_l("Comment être prévenu"), choices=[], validate_choice=False)
    min_severity = RadioField(_l("Quelles alertes"), choices=[], validate_choice=False)
    members = SelectMultipleField(_l("Pour quels membres"), choices=[], validate_choice=False)
    sites = SelectMultipleField(_l("Pour quels sites"), choices=[], validate_choice=False)
    quiet_start = StringField(_l("Début des heures calmes"))
    quiet_end = StringField(_l("Fin des heures calmes"))
    quiet_except_disasters = BooleanField(_l("Sauf les désastres : ceux-là me réveillent"))
    recoveries = BooleanField(_l("Me prévenir aussi quand c’est réparé"))
    submit = SubmitField(_l("Enregistrer mes réglages"))

    # Service field -> form field (webapp.forms.apply_errors).
    ALIASES = {
        "quiet_hours": "quiet_start",
        "quiet_hours.start": "quiet_start",
        "quiet_hours.end": "quiet_end",
        "quiet_hours.except_disasters": "quiet_except_disasters",
    }

    def load(self, rule, member_slugs: Mapping[int, str]) -> None:
        """Show ``rule`` (an :class:`~webapp.services.alert_rules.Rule`)."""
        self.channels.data = sorted(rule.channels)
        self.min_severity.data = str(rule.min_severity)
        if "members" in self:
            self.members.data = [member_slugs[i] for i in rule.member_ids if i in member_slugs]
        self.sites.data = sorted(rule.sites)
        self.quiet_start.data = rule.quiet_start.strftime("%H:%M") if rule.quiet_start else ""
        self.quiet_end.data = rule.quiet_end.strftime("%H:%M") if rule.quiet_end else ""
        self.quiet_except_disasters.data = rule.quiet_except_disasters
        self.recoveries.data = rule.recoveries

    def payload(self) -> dict:
        """The rule as ``PUT /api/v1/me/alert-rules`` writes it."""
        severity = (self.min_severity.data or "").strip()
        start, end = (self.quiet_start.data or "").strip(), (self.quiet_end.data or "").strip()
        quiet = None
        if start or end:
            quiet = {
                "start": start,
                "end": end,
                "except_disasters": bool(self.quiet_except_disasters.data),
            }
        payload = {
            "channels": list(self.channels.data or []),
            "min_severity": int(severity) if severity.isdigit() and len(severity) < 3 else severity,
            "sites": list(self.sites.data or []),
            "quiet_hours": quiet,
            "recoveries": bool(self.recoveries.data),
        }
        if "members" in self:
            payload["members"] = list(self.members.data or [])
        return payload


class MuteForm(VigieForm):
    hours = StringField(_l("Durée"))


# ---- supervision agreements (/admin/membres/<slug>/conventions) -----------------------------
# The form reads the dates, the package and the file; webapp.services.agreements checks them
# (renewal after signing, minimum package, PDF, size), the same way for a new or edited one.
# These imports belong at the top of the module (kept here while other forms are edited).

from flask_wtf.file import FileField  # noqa: E402
from wtforms import DateField  # noqa: E402
from wtforms import IntegerField  # noqa: E402
from wtforms.validators import InputRequired  # noqa: E402


def _given():
    """Something typed in (0 and an invalid date count: their own check speaks)."""
    return InputRequired(message=_l("Ce champ est obligatoire."))


class AgreementForm(VigieForm):
    reference = StringField(
        _l("Référence de la convention"),
        validators=[Optional(), PlainText()],
        description=_l("Par exemple : CONV-2025-007 (80 caractères au plus)."),
    )
    signed_on = DateField(
        _l("Signée le"),
        validators=[_given()],
        invalid_value_message=_l("Date invalide : indiquez le jour, le mois et l’année."),
    )
    renewal_on = DateField(
        _l("À renouveler le"),
        validators=[_given()],
        invalid_value_message=_l("Date invalide : indiquez le jour, le mois et l’année."),
        description=_l("La convention est en vigueur jusqu’à ce jour inclus."),
    )
    package_probes = IntegerField(
        _l("Forfait (nombre de sondes)"),
        validators=[_given()],
        invalid_value_message=_l("Indiquez un nombre entier de sondes, par exemple 100."),
    )
    document = FileField(_l("Convention signée (PDF)"))  # its hint tells the size allowed
    submit = SubmitField(_l("Enregistrer la convention"))
