"""Copying a service's ValidationError onto a form."""

from wtforms import Form
from wtforms import StringField

from webapp.forms import apply_errors
from webapp.services.errors import ValidationError


class _Form(Form):
    name = StringField()
    email = StringField()
    host_group = StringField()


def _form() -> _Form:
    form = _Form()
    form.validate()
    return form


def test_each_message_goes_under_its_field():
    form = _form()
    apply_errors(form, ValidationError({"email": "déjà pris", "name": "trop long"}), "name")
    assert form.email.errors == ["déjà pris"]
    assert form.name.errors == ["trop long"]
    assert form.host_group.errors == []


def test_unknown_field_goes_under_the_default():
    form = _form()
    apply_errors(form, ValidationError({"member": "choisissez", "meta": "x"}), "email")
    assert form.email.errors == ["choisissez", "x"]


def test_aliases_rename_service_fields():
    form = _form()
    apply_errors(
        form,
        ValidationError({"host_groups": "inconnu"}),
        "name",
        aliases={"host_groups": "host_group"},
    )
    assert form.host_group.errors == ["inconnu"]
    assert form.name.errors == []
