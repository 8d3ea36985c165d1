"""SMS end to end: phone numbers, confirmation codes, the profile forms, and the outbox
delivering through the SMS channel to a loopback OVH API that checks every signature."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import render_template
from sqlalchemy import select

from tests.factories import make_user
from tests.loopback.sms_gateway import OvhApi
from webapp.channels import registry
from webapp.channels.sms import SmsChannel
from webapp.channels.sms import SmsConfigError
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models.alerts import DeliveryStatus
from webapp.models.member import utcnow
from webapp.services import outbox
from webapp.services import phones
from webapp.services.errors import ValidationError

CODE_RE = re.compile(r"est (\d{6})$")


@pytest.fixture
def ovh_api():
    with OvhApi() as api:
        yield api


@pytest.fixture
def sms(app, ovh_api):
    """The app sending SMS through the loopback OVH API."""
    app.config.update(
        SMS_PROVIDER="ovh",
        SMS_SENDER="VIGIE",
        OVH_ENDPOINT=ovh_api.endpoint,
        OVH_APPLICATION_KEY=ovh_api.application_key,
        OVH_APPLICATION_SECRET=ovh_api.application_secret,
        OVH_CONSUMER_KEY=ovh_api.consumer_key,
        OVH_SMS_SERVICE=ovh_api.service,
    )
    return ovh_api


def code_deliveries(user):
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.user_id == user.id, Delivery.kind == phones.CODE_KIND)
            .order_by(Delivery.id)
        )
    )


def last_code(user) -> str:
    return CODE_RE.search(code_deliveries(user)[-1].data["sms"]).group(1)


def error_of(call) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.errors


# -- normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("0612345678", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("07 81 23 45 67", "+33781234567"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        (" +32 470 12 34 56 ", "+32470123456"),
        ("+49 151 23456789", "+4915123456789"),
        ("+352 621 123 456", "+352621123456"),
        ("+590 690 12 34 56", "+590690123456"),  # Guadeloupe
    ],
)
def test_normalise_accepts_mobile_numbers(app, raw, e164):
    assert phones.normalise(raw) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Indiquez un numéro de téléphone mobile."),
        ("   ", "Indiquez un numéro de téléphone mobile."),
        ("abc", "Numéro de téléphone invalide : écrivez par exemple 06 12 34 56 78."),
        ("06 12", "Numéro de téléphone invalide : écrivez par exemple 06 12 34 56 78."),
        ("06 12 34 56 78 90 12", "Numéro de téléphone invalide : écrivez par exemple"),
        ("+99 612345678", "Numéro de téléphone invalide : écrivez par exemple"),
        ("1" * 40, "Numéro de téléphone invalide :"),
        ("06 CALL VIGIE", "Numéro de téléphone invalide :"),
        ("06 12 34 56 78 ext. 12", "Numéro de téléphone invalide :"),
        (
            "01 23 45 67 89",
            "Ce numéro n’est pas un mobile : les SMS ne peuvent pas y être envoyés.",
        ),
        ("08 00 12 34 56", "Ce numéro n’est pas un mobile"),
        ("09 12 34 56 78", "Ce numéro n’est pas un mobile"),
    ],
)
def test_normalise_refuses_in_french(app, raw, message):
    errors = error_of(lambda: phones.normalise(raw))
    assert errors["phone"].startswith(message)


def test_display_is_national_in_france(app):
    assert phones.display("+33612345678") == "06 12 34 56 78"
    assert phones.display("+32470123456") == "+32 470 12 34 56"
    assert phones.display(None) is None


# -- the confirmation code ---------------------------------------------------------------


def test_code_goes_to_the_new_number_and_confirms_it(app, sms):
    user = make_user()
    assert phones.status(user) == phones.PhoneStatus(None, None, False, False, 0, True)
    number = phones.request_code(user, "06 12 34 56 78")
    assert number == user.phone == "+33612345678"
    status = phones.status(user)
    assert (status.confirmed, status.code_pending, status.display) == (
        False,
        True,
        "06 12 34 56 78",
    )
    assert 55 <= status.resend_in_s <= 60
    (delivery,) = code_deliveries(user)
    assert delivery.channel == "sms" and delivery.status == DeliveryStatus.QUEUED
    assert delivery.data["to"] == "+33612345678"
    code = last_code(user)
    assert delivery.data["sms"] == f"Vigie : votre code de confirmation est {code}"
    assert code not in (user.phone_code_hash or "") and len(user.phone_code_hash) == 64

    # not yet confirmed: alerts never go to it (the outbox gives channels confirmed numbers)
    assert outbox.outgoing(delivery).recipient.phone is None

    phones.confirm(user, f" {code[:3]} {code[3:]} ")
    status = phones.status(user)
    assert status.confirmed and not status.code_pending
    assert user.phone_code_hash is None
    assert outbox.outgoing(delivery).recipient.phone == "+33612345678"


def test_wrong_codes_count_and_the_fifth_ends_the_code(app, sms):
    user = make_user()
    phones.request_code(user, "0612345678")
    code = last_code(user)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        errors = error_of(lambda: phones.confirm(user, wrong))
        plural = "essai" if left == 1 else "essais"
        assert errors == {"code": f"Code incorrect. Il vous reste {left} {plural}."}
    errors = error_of(lambda: phones.confirm(user, wrong))
    assert errors == {"code": "Code incorrect. Trop d’essais : demandez un nouveau code."}
    # even the right code is now refused
    errors = error_of(lambda: phones.confirm(user, code))
    assert errors == {"code": "Aucun code en attente : demandez d’abord un code."}
    assert not phones.status(user).confirmed


def test_malformed_code_does_not_use_a_try(app, sms):
    user = make_user()
    phones.request_code(user, "0612345678")
    for junk in ("12345", "abcdef", "1234567", "١٢٣٤٥٦", "", None):
        assert error_of(lambda j=junk: phones.confirm(user, j)) == {
            "code": "Le code compte 6 chiffres."
        }
    assert user.phone_code_attempts == 0
    phones.confirm(user, last_code(user))
    assert phones.status(user).confirmed


def test_code_expires_after_ten_minutes(app, sms):
    user = make_user()
    phones.request_code(user, "0612345678")
    code = last_code(user)
    later = utcnow() + timedelta(minutes=10, seconds=1)
    assert not phones.status(user, later).code_pending
    errors = error_of(lambda: phones.confirm(user, code, now=later))
    assert errors == {"code": "Ce code a expiré : demandez-en un nouveau."}
    assert user.phone_code_hash is None


def test_one_code_a_minute(app, sms, monkeypatch):
    codes = iter([123456, 654321])
    monkeypatch.setattr(phones.secrets, "randbelow", lambda _n: next(codes))
    user = make_user()
    start = utcnow()
    phones.request_code(user, "0612345678", now=start)
    errors = error_of(lambda: phones.request_code(user, "0612345678", now=start))
    assert errors["phone"].startswith("Un code vient d’être envoyé : attendez 60 secondes")
    errors = error_of(lambda: phones.request_code(user, "0698765432", now=start))  # no bypass
    assert "attendez" in errors["phone"]
    assert user.phone == "+33612345678"
    assert len(code_deliveries(user)) == 1
    assert last_code(user) == "123456"
    phones.request_code(user, "0612345678", now=start + timedelta(seconds=61))
    assert len(code_deliveries(user)) == 2
    assert last_code(user) == "654321"
    # the first code no longer confirms
    assert "Code incorrect" in error_of(lambda: phones.confirm(user, "123456"))["code"]
    phones.confirm(user, "654321")
    assert phones.status(user).confirmed


def test_at_most_ten_codes_a_day(app, sms):
    user = make_user()
    start = utcnow()
    for n in range(phones.CODES_PER_DAY):
        phones.request_code(user, "0612345678", now=start + timedelta(minutes=2 * n))
    errors = error_of(
        lambda: phones.request_code(user, "0612345678", now=start + timedelta(minutes=30))
    )
    assert errors == {"phone": "Trop de codes demandés aujourd’hui : réessayez demain."}


def test_changing_the_number_unconfirms_it(app, sms):
    user = make_user()
    start = utcnow()
    phones.request_code(user, "0612345678", now=start)
    phones.confirm(user, last_code(user), now=start)
    assert phones.status(user).confirmed
    assert error_of(lambda: phones.request_code(user, "06 12 34 56 78"))["phone"] == (
        "Ce numéro est déjà confirmé."
    )
    phones.request_code(user, "07 81 23 45 67", now=start + timedelta(seconds=61))
    status = phones.status(user, start + timedelta(seconds=61))
    assert status.number == "+33781234567" and not status.confirmed and status.code_pending
    assert code_deliveries(user)[-1].data["to"] == "+33781234567"


def test_a_code_for_one_number_does_not_confirm_another(app, sms):
    user = make_user()
    phones.request_code(user, "0612345678")
    code = last_code(user)
    user.phone = "+33781234567"  # swapped behind the service's back
    db.session.commit()
    assert "Code incorrect" in error_of(lambda: phones.confirm(user, code))["code"]


def test_no_code_without_an_sms_provider(app):
    user = make_user()
    errors = error_of(lambda: phones.request_code(user, "0612345678"))
    assert errors == {"phone": "L’envoi de SMS n’est pas configuré sur ce serveur."}
    assert user.phone is None and code_deliveries(user) == []
    assert phones.status(user).sms_available is False


# -- through the outbox to the loopback OVH API ----------------------------------------


def test_code_and_alert_are_delivered_to_ovh_end_to_end(app, sms):
    channels = registry.build(app.config)
    assert isinstance(channels["sms"], SmsChannel)
    user = make_user()
    phones.request_code(user, "06 12 34 56 78")
    assert outbox.deliver_due(channels) == 1
    (job,) = sms.wait_for(1)
    assert sms.rejected == []
    assert job.fields["receivers"] == ["+33612345678"]
    assert job.fields["sender"] == "VIGIE" and job.fields["noStopClause"] is True
    code = CODE_RE.search(job.message).group(1)
    (delivery,) = code_deliveries(user)
    assert delivery.status == DeliveryStatus.SENT and delivery.provider == "ovh:1000"

    phones.confirm(user, code)  # the code the phone received
    alert = (
        "Vigie : panne à la Mairie de Sarralbe — 3 équipements injoignables depuis 20 h 09 "
        "(routeur fibre, borne Wi-Fi « école », caméra du château d’eau). Fenêtre de "
        "maintenance prévue ? Non. Détails : https://vigie.example.org/cartes/12"
    )
    outbox.enqueue(
        key="incident-1-open-sms-user",
        user=user,
        channel="sms",
        kind="incident",
        subject="Panne à la Mairie de Sarralbe",
        body=alert,
    )
    db.session.commit()
    assert outbox.deliver_due(channels) == 1
    jobs = sms.wait_for(2)
    text = jobs[1].message
    assert jobs[1].to == "+33612345678"
    from webapp.channels import gsm7

    assert gsm7.is_gsm7(text) and gsm7.septets(text) <= 160
    assert text.startswith("Vigie : panne à la Mairie de Sarralbe - 3 équipements")
    assert "œ" not in text and "ê" not in text and "«" not in text
    assert sms.time_asked == 1


def test_ovh_errors_through_the_outbox(app, sms):
    channels = registry.build(app.config)
    user = make_user()
    phones.request_code(user, "0612345678")
    sms.answer_next(503, {}, {"message": "Service Unavailable"})
    outbox.deliver_due(channels)
    (delivery,) = code_deliveries(user)
    assert delivery.status == DeliveryStatus.QUEUED
    assert delivery.last_error == "OVH indisponible (HTTP 503) : Service Unavailable"
    assert delivery.next_attempt_at.replace(tzinfo=None) > utcnow().replace(tzinfo=None)

    delivery.next_attempt_at = utcnow()  # the backoff has passed
    db.session.commit()
    sms.answer_next(400, {}, {"message": "Invalid receiver"})
    outbox.deliver_due(channels)
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "OVH a refusé le SMS (HTTP 400) : Invalid receiver"
    assert sms.received == []


def test_an_alert_to_someone_without_a_confirmed_number_fails_in_french(app, sms):
    user = make_user(phone="+33612345678")  # stored, never confirmed
    outbox.enqueue(
        key="incident-2", user=user, channel="sms", kind="incident", subject="x", body="Panne"
    )
    db.session.commit()
    outbox.deliver_due(registry.build(app.config))
    delivery = db.session.scalar(select(Delivery).where(Delivery.key == "incident-2"))
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "Aucun numéro de mobile confirmé pour cette personne."
    assert sms.requests == []


def test_no_sms_channel_without_a_provider(app):
    assert "sms" not in registry.build(app.config)


def test_bad_sms_settings_stop_the_channels_at_start(app):
    app.config.update(SMS_PROVIDER="ovh", SMS_SENDER="Vigie Moselle Fibre")
    with pytest.raises(SmsConfigError):
        registry.build(app.config)


# -- the profile pages -----------------------------------------------------------------


def flashes(client) -> list[str]:
    """The flash messages waiting for the next page (taken, as that page would)."""
    with client.session_transaction() as session:
        return [message for _category, message in session.pop("_flashes", [])]


def alerts_page_path(app) -> str:
    return "/profil/alertes" if "profile.alerts" in app.view_functions else "/profil/"


def test_profile_field_stores_e164_and_refuses_landlines(app, client, login, csrf):
    user = login(make_user())
    token = csrf("/profil/")
    data = {"name": "Camille Martin", "phone": "06 12 34 56 78", "locale": "fr"}
    response = client.post("/profil/", data={**data, "csrf_token": token})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.phone == "+33612345678" and user.phone_confirmed_at is None

    response = client.post(
        "/profil/", data={**data, "phone": "01 23 45 67 89", "csrf_token": token}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ce numéro n’est pas un mobile : les SMS ne peuvent pas y être envoyés." in page
    db.session.refresh(user)
    assert user.phone == "+33612345678"


def test_profile_keeps_the_confirmation_when_the_same_number_is_retyped(
    app, client, login, csrf, sms
):
    user = login(make_user())
    phones.request_code(user, "0612345678")
    phones.confirm(user, last_code(user))
    token = csrf("/profil/")
    data = {"name": user.name, "locale": "fr", "csrf_token": token}
    client.post("/profil/", data={**data, "phone": "06.12.34.56.78"})
    db.session.refresh(user)
    assert user.phone_confirmed_at is not None
    client.post("/profil/", data={**data, "phone": "07 81 23 45 67"})
    db.session.refresh(user)
    assert user.phone == "+33781234567" and user.phone_confirmed_at is None
    client.post("/profil/", data={**data, "phone": ""})
    db.session.refresh(user)
    assert user.phone is None


@pytest.mark.parametrize(
    "junk",
    ["+" * 500, "06 12 34 56 78\x00", "<script>", "☎☎☎", "0" * 5000, "06 12 34 56 78 ; DROP"],
)
def test_profile_phone_junk_is_a_french_error_never_a_500(app, client, login, csrf, junk):
    login(make_user())
    token = csrf("/profil/")
    response = client.post(
        "/profil/", data={"name": "Camille", "phone": junk, "locale": "fr", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "Numéro de téléphone invalide" in response.get_data(as_text=True)


def test_send_code_form_then_confirm_form(app, client, login, csrf, sms):
    user = login(make_user())
    back = alerts_page_path(app)
    token = csrf("/profil/")
    response = client.post(
        "/profil/telephone", data={"phone": "06 12 34 56 78", "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(back + "#phone")
    assert flashes(client) == ["Un code a été envoyé par SMS au 06 12 34 56 78."]
    db.session.refresh(user)
    assert user.phone == "+33612345678"

    response = client.post("/profil/telephone/confirmer", data={"code": "12", "csrf_token": token})
    assert response.status_code == 302
    assert flashes(client) == ["Le code compte 6 chiffres."]

    response = client.post(
        "/profil/telephone/confirmer", data={"code": last_code(user), "csrf_token": token}
    )
    assert response.status_code == 302
    assert flashes(client) == ["Numéro confirmé : vous pouvez recevoir les alertes par SMS."]
    db.session.refresh(user)
    assert phones.status(user).confirmed


def test_send_code_form_refuses_in_french(app, client, login, csrf, sms):
    login(make_user())
    token = csrf("/profil/")
    client.post("/profil/telephone", data={"phone": "01 23 45 67 89", "csrf_token": token})
    assert flashes(client) == [
        "Ce numéro n’est pas un mobile : les SMS ne peuvent pas y être envoyés."
    ]
    client.post("/profil/telephone", data={"phone": "0612345678", "csrf_token": token})
    flashes(client)
    client.post("/profil/telephone", data={"phone": "0612345678", "csrf_token": token})
    (message,) = flashes(client)
    assert message.startswith("Un code vient d’être envoyé : attendez")


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/profil/telephone", {}),
        ("/profil/telephone", {"phone": "\x00" * 10}),
        ("/profil/telephone", {"phone": "+" + "9" * 10000}),
        ("/profil/telephone", {"phone": ["06", "07"]}),
        ("/profil/telephone/confirmer", {}),
        ("/profil/telephone/confirmer", {"code": "𝟏𝟐𝟑𝟒𝟓𝟔"}),
        ("/profil/telephone/confirmer", {"code": "1" * 10000}),
    ],
)
def test_phone_forms_never_500_on_junk(app, client, login, csrf, sms, path, data):
    login(make_user())
    response = client.post(path, data={**data, "csrf_token": csrf("/profil/")})
    assert response.status_code == 302
    (message,) = flashes(client)
    assert message  # a French explanation, shown on the page


def test_phone_forms_without_csrf_token(app, client, login, sms):
    user = login(make_user())
    response = client.post("/profil/telephone", data={"phone": "0612345678"})
    assert response.status_code in (302, 400)
    db.session.refresh(user)
    assert user.phone is None and code_deliveries(user) == []


def test_phone_forms_need_a_login(app, client, csrf):
    for path in ("/profil/telephone", "/profil/telephone/confirmer"):
        response = client.post(path, data={"phone": "0612345678", "csrf_token": csrf()})
        assert response.status_code == 302
        assert "/connexion" in response.headers["Location"]
    assert db.session.scalars(select(Delivery)).all() == []


# -- the partial -------------------------------------------------------------------------


def render_partial(app, status) -> str:
    with app.test_request_context("/profil/alertes"):
        return render_template("profile/_phone.html", phone_status=status)


def test_partial_shows_each_state(app, sms):
    user = make_user()
    html = render_partial(app, phones.status(user))
    assert "Aucun numéro de téléphone mobile n’est enregistré." in html
    assert 'action="/profil/telephone"' in html
    assert 'action="/profil/telephone/confirmer"' not in html

    phones.request_code(user, "0612345678")
    html = render_partial(app, phones.status(user))
    assert "06 12 34 56 78" in html and "En attente du code" in html
    assert 'action="/profil/telephone/confirmer"' in html and 'name="code"' in html
    assert 'autocomplete="one-time-code"' in html
    assert "Confirmé" not in html

    phones.confirm(user, last_code(user))
    html = render_partial(app, phones.status(user))
    assert "Confirmé" in html and "En attente du code" not in html
    assert "Changer de numéro" in html and 'name="code"' not in html


def test_partial_says_when_sms_are_not_configured(app):
    user = make_user(phone="+33612345678")
    html = render_partial(app, phones.status(user))
    assert "L’envoi de SMS n’est pas configuré sur ce serveur" in html
    assert "Non confirmé" in html
    assert "<form" not in html
