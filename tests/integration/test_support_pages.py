"""Support requests through the pages: from a node to resolution, both sides (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import demo_member
from tests.factories import make_member
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.models import Delivery
from webapp.models import SupportRequest
from webapp.models.choices import AuditKind
from webapp.models.member import utcnow
from webapp.services import demo
from webapp.services import support
from webapp.services.errors import Conflict

ROUTER = "sarralbe-routeur"


def switch(client, user):
    """Sign the test client out, then in as ``user`` (the login page refuses a signed-in user)."""
    client.post("/deconnexion", data={"csrf_token": csrf_from(client, "/profil/")})
    token = csrf_from(client, "/connexion")
    response = client.post(
        "/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return user


def deliveries(user) -> list[Delivery]:
    return list(db.session.scalars(select(Delivery).where(Delivery.user_id == user.id)))


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    return response.get_data(as_text=True)


def post(client, url: str, data: dict, token_url: str):
    return client.post(url, data={"csrf_token": csrf_from(client, token_url), **data})


def camera_behind_router(source, member):
    """A node made unreachable by the router's failure (its incident's root is the router)."""
    from webapp.services import overview

    status = overview.status_of(member)
    router = source.host_by_name(ROUTER)
    node = next(n for n in status.member_map.nodes if n.cause == router.hostid)
    return router, node


def test_a_viewer_opens_a_request_from_a_failed_node_and_its_state_is_kept(
    app, client, login, source
):
    member = demo_member("sarralbe")
    viewer = login(make_user("viewer", member=member))
    staff = make_user("support")
    demo.fail(ROUTER)
    router, camera = camera_behind_router(source, member)
    url = f"/membres/sarralbe/support/nouvelle?equipement={camera.id}"
    form = page(client, url)
    assert camera.label in form and "Urgence" in form and "Catégorie" in form
    response = post(
        client,
        "/membres/sarralbe/support/nouvelle",
        {
            "subject": "La caméra ne répond plus",
            "message": "Depuis 8 h.",
            "category": "outage",
            "urgency": "high",
            "hostid": camera.id,
        },
        url,
    )
    assert response.status_code == 302
    req = db.session.scalars(select(SupportRequest)).one()
    assert response.headers["Location"].endswith(f"/membres/sarralbe/support/{req.id}")
    assert (req.status, req.urgency, req.category) == ("new", "high", "outage")
    assert req.incident_root == router.hostid, "the root cause, not the camera"
    assert req.context["host"]["state"] == "unreachable"
    assert req.context["host"]["cause"] == "Routeur mairie"
    assert req.response_due_at is not None and req.resolution_due_at > req.response_due_at
    # Kept as it was: the repair does not rewrite what the request says.
    demo.repair(ROUTER)
    thread = page(client, response.headers["Location"])
    assert "L’équipement à l’ouverture" in thread and "Injoignable" in thread
    # Support is told, on the portal and by e-mail; the opening is audited.
    assert {d.channel for d in deliveries(staff)} == {"portal", "email"}
    assert (
        db.session.scalars(select(AuditEvent).where(AuditEvent.kind == AuditKind.SUPPORT_OPENED))
        .one()
        .actor_id
        == viewer.id
    )


def test_an_open_request_for_the_same_incident_is_offered_first(app, client, login, source):
    member = demo_member("sarralbe")
    login(make_user("viewer", member=member))
    demo.fail(ROUTER)
    router, camera = camera_behind_router(source, member)
    first = make_support_request(
        member,
        make_user("member_admin", member=member),
        subject="Plus d'internet",
        hostid=router.hostid,
    )
    form = page(client, f"/membres/sarralbe/support/nouvelle?equipement={camera.id}")
    assert "Une demande est déjà ouverte pour cette panne." in form
    assert f"/membres/sarralbe/support/{first.id}#repondre" in form
    assert "Plus d&#39;internet" in form


def test_the_whole_conversation_from_new_to_rating(app, client, login):
    member = make_member()
    admin = make_user("member_admin", member=member)
    agent = make_user("support")
    req = make_support_request(member, admin, subject="Wi-Fi lent", urgency="normal")
    member_url = f"/membres/{member.slug}/support/{req.id}"
    staff_url = f"/support/{req.id}"

    login(agent)
    queue = page(client, "/support")
    assert "Wi-Fi lent" in queue and "1 demande ouverte" in queue and "1 à attribuer" in queue
    version = db.session.get(SupportRequest, req.id).version
    assert (
        post(
            client,
            f"{staff_url}/attribuer",
            {"assignee": "", "assign_me": "1", "version": version},
            staff_url,
        ).status_code
        == 302
    )
    assert db.session.get(SupportRequest, req.id).assignee_id == agent.id
    assert "Wi-Fi lent" in page(client, "/support?assignee=me")
    assert "Wi-Fi lent" not in page(client, "/support?assignee=none")
    post(client, f"{staff_url}/repondre", {"body": "Quel bâtiment ?"}, staff_url)
    post(
        client,
        f"{staff_url}/repondre",
        {"body": "Client connu, borne ancienne", "internal": "y"},
        staff_url,
    )
    version = db.session.get(SupportRequest, req.id).version
    post(client, f"{staff_url}/statut", {"status": "waiting_member", "version": version}, staff_url)
    row = db.session.get(SupportRequest, req.id)
    assert row.status == "waiting_member" and row.first_response_at is not None

    switch(client, admin)
    thread = page(client, member_url)
    assert "Quel bâtiment ?" in thread
    assert "borne ancienne" not in thread and "Note interne" not in thread, (
        "internal stays internal"
    )
    assert "Client connu" not in " ".join(d.body for d in deliveries(admin))
    post(client, f"{member_url}/repondre", {"body": "La mairie, 1er étage"}, member_url)
    assert db.session.get(SupportRequest, req.id).status == "in_progress", "the member answered"

    switch(client, agent)
    version = db.session.get(SupportRequest, req.id).version
    refused = post(
        client, f"{staff_url}/statut", {"status": "resolved", "version": version}, staff_url
    )
    assert refused.status_code == 400 and "Ce champ est obligatoire." in refused.get_data(
        as_text=True
    )
    post(
        client,
        f"{staff_url}/statut",
        {"status": "resolved", "version": version, "resolution": "Borne remplacée à l’étage."},
        staff_url,
    )
    assert db.session.get(SupportRequest, req.id).status == "resolved"
    told = [d for d in deliveries(admin) if "Borne remplacée" in d.body]
    assert {d.channel for d in told} >= {"portal", "email", "push"}, "their own request: push too"

    switch(client, admin)
    thread = page(client, member_url)
    assert "Votre demande est résolue." in thread and "Borne remplacée à l’étage." in thread
    assert "Rouvrir" in thread and "La réponse vous a-t-elle aidé ?" in thread
    post(client, f"{member_url}/avis", {"rating": "satisfied", "comment": "Merci"}, member_url)
    row = db.session.get(SupportRequest, req.id)
    assert (row.rating, row.rating_comment) == ("satisfied", "Merci")
    assert "Votre avis sur cette demande est déjà enregistré" in post(
        client, f"{member_url}/avis", {"rating": "unsatisfied"}, member_url
    ).get_data(as_text=True)
    version = row.version
    post(client, f"{member_url}/statut", {"status": "in_progress", "version": version}, member_url)
    row = db.session.get(SupportRequest, req.id)
    assert (row.status, row.reopened_count, row.resolved_at) == ("in_progress", 1, None)
    kinds = [e.kind for e in row.entries]
    assert kinds.count("status") == 4 and "note" in kinds and "rating" in kinds
    audited = {a.kind for a in db.session.scalars(select(AuditEvent))}
    assert {"support_status", "support_assigned", "support_commented", "support_rated"} <= audited


def test_waiting_for_the_member_does_not_count_against_support(app):
    member = make_member()
    admin = make_user("member_admin", member=member)
    agent = make_user("support")
    t0 = utcnow()
    req = make_support_request(member, admin, urgency="critical")
    due = req.resolution_due_at
    support.change_status(req, agent, "waiting_member", now=t0 + timedelta(minutes=10))
    support.add_comment(req, admin, "Voilà", now=t0 + timedelta(hours=2, minutes=10))
    assert req.status == "in_progress" and req.waiting_seconds == 7200
    assert req.resolution_due_at - due == timedelta(hours=2)


def test_a_viewer_may_reply_but_never_change_a_status(app, client, login):
    member = make_member()
    viewer = login(make_user("viewer", member=member))
    req = make_support_request(member, viewer)
    url = f"/membres/{member.slug}/support/{req.id}"
    assert "Retirer la demande" not in page(client, url)
    response = post(client, f"{url}/statut", {"status": "closed"}, url)
    assert response.status_code == 403
    assert db.session.get(SupportRequest, req.id).status == "new"
    assert post(client, f"{url}/repondre", {"body": "Toujours en panne"}, url).status_code == 302


def test_a_transition_that_is_not_allowed_is_refused_in_french(app, client, login):
    member = make_member()
    admin = make_user("member_admin", member=member)
    req = make_support_request(member, admin)
    login(admin)
    url = f"/membres/{member.slug}/support/{req.id}"
    response = post(client, f"{url}/statut", {"status": "resolved"}, url)
    assert response.status_code == 403, "only support resolves"
    switch(client, make_user("support"))
    staff_url = f"/support/{req.id}"
    support.change_status(db.session.get(SupportRequest, req.id), make_user("admin"), "closed")
    response = post(client, f"{staff_url}/statut", {"status": "in_progress"}, staff_url)
    assert response.status_code == 409
    assert "ne peut pas passer à « En cours »" in response.get_data(as_text=True)


def test_two_agents_at_once_lose_nothing(app, client, login):
    member = make_member()
    req = make_support_request(member, make_user("member_admin", member=member))
    first, second = make_user("support"), make_user("support")
    seen = req.version  # both agents opened the page at this version
    support.change_status(req, first, "in_progress", expected_version=seen)
    login(second)
    url = f"/support/{req.id}"
    response = post(
        client, f"{url}/statut", {"status": "resolved", "resolution": "Fait", "version": seen}, url
    )
    assert response.status_code == 409
    assert "modifiée entre-temps" in response.get_data(as_text=True)
    row = db.session.get(SupportRequest, req.id)
    assert row.status == "in_progress", "the first change stands, the second was not applied"
    # A reply never conflicts: both agents' messages are in the thread.
    post(client, f"{url}/repondre", {"body": "Second agent"}, url)
    support.add_comment(db.session.get(SupportRequest, req.id), first, "Premier agent")
    bodies = [e.body for e in db.session.get(SupportRequest, req.id).entries if e.body]
    assert "Second agent" in bodies and "Premier agent" in bodies


@pytest.mark.parametrize(
    "subject,message,error",
    [
        ("", "Texte", "Ce champ est obligatoire."),
        ("   ", "Texte", "Ce champ est obligatoire."),
        ("x" * 100_000, "Texte", "160 caractères au plus"),
        ("Objet", "y" * 100_000, "10000 caractères au plus"),
    ],
)
def test_bad_subjects_and_messages_are_refused_in_french(
    app, client, login, subject, message, error
):
    member = make_member()
    login(make_user("viewer", member=member))
    url = f"/membres/{member.slug}/support/nouvelle"
    response = post(
        client,
        url,
        {"subject": subject, "message": message, "category": "other", "urgency": "low"},
        url,
    )
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert db.session.scalars(select(SupportRequest)).first() is None


def test_markup_is_stored_as_typed_and_escaped_everywhere(app, client, login):
    member = make_member()
    admin = make_user("member_admin", member=member)
    agent = make_user("support")
    script = "<script>alert('x')</script>"
    req = make_support_request(member, admin, subject=f"Objet {script}", message=f"Texte {script}")
    support.add_comment(req, agent, f"Réponse {script}")
    login(admin)
    for user, url in (
        (admin, f"/membres/{member.slug}/support/{req.id}"),
        (agent, f"/support/{req.id}"),
        (agent, "/support"),
    ):
        switch(client, user)
        html = page(client, url)
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    mails = [d for d in deliveries(admin) if d.channel == "email"]
    assert mails and all(script in d.body for d in mails), "stored as typed"
    from webapp.channels.email import EmailChannel
    from webapp.services import outbox

    html = EmailChannel.from_config(app.config).compose(outbox.outgoing(mails[0])).html
    assert "&lt;script&gt;" in html and "<script>alert" not in html


def test_another_member_and_huge_ids_are_404(app, client, login):
    member, other = make_member(), make_member()
    req = make_support_request(member, make_user("member_admin", member=member))
    login(make_user("member_admin", member=other))
    for url in (
        f"/membres/{other.slug}/support/{req.id}",
        f"/membres/{member.slug}/support/{req.id}",
        f"/membres/{other.slug}/support/{'9' * 25}",
    ):
        assert client.get(url).status_code == 404
    token_url = f"/membres/{other.slug}/support"
    assert (
        post(
            client, f"/membres/{other.slug}/support/{req.id}/repondre", {"body": "x"}, token_url
        ).status_code
        == 404
    )
    switch(client, make_user("support"))
    assert client.get(f"/support/{'9' * 25}").status_code == 404
    assert post(client, f"/support/{'9' * 25}/cloturer", {}, "/support").status_code == 404


def test_staff_open_a_request_on_a_members_behalf(app, client, login):
    member = make_member()
    admin = make_user("member_admin", member=member)
    agent = login(make_user("support"))
    form = page(client, f"/support/nouvelle?membre={member.slug}")
    assert "Qui a appelé" in form
    response = post(
        client,
        "/support/nouvelle",
        {
            "member": member.slug,
            "contact": "M. le maire, 03 87 00 00 00",
            "subject": "Appel",
            "message": "Plus de téléphone à l’accueil.",
            "category": "outage",
            "urgency": "high",
        },
        "/support/nouvelle",
    )
    assert response.status_code == 302
    req = db.session.scalars(select(SupportRequest)).one()
    assert (req.channel, req.author_id, req.contact) == (
        "phone",
        agent.id,
        "M. le maire, 03 87 00 00 00",
    )
    assert any(d.channel == "email" for d in deliveries(admin)), "the member is told"
    assert (
        post(
            client,
            "/support/nouvelle",
            {"member": "inconnu", "subject": "x", "message": "y"},
            "/support/nouvelle",
        ).status_code
        == 400
    )
    switch(client, admin)
    assert client.get("/support/nouvelle").status_code == 403


def test_the_queue_filters_searches_sorts_and_pages(app, client, login):
    members = [make_member() for _ in range(3)]
    agent = make_user("support")
    for n in range(30):
        member = members[n % 3]
        make_support_request(
            member,
            make_user("viewer", member=member),
            subject=f"Demande {n:02d}",
            message="Imprimante HS" if n == 7 else "Autre chose",
            urgency="critical" if n % 10 == 0 else "normal",
        )
    login(agent)
    first = page(client, "/support")
    assert "30 demandes correspondent aux filtres" in first and "page 1 sur 2" in first
    assert "Page suivante" in first
    assert "Demande 07" in page(client, "/support?q=imprimante")
    assert "Demande 08" not in page(client, "/support?q=imprimante")
    critical = page(client, "/support?urgency=critical")
    assert "3 demandes correspondent" in critical
    by_member = page(client, f"/support?member={members[1].slug}")
    assert "10 demandes correspondent" in by_member
    assert page(client, "/support?sort=nimporte", 400)
    assert page(client, "/support?page=abc", 400)
    # Overdue: a critical request unanswered past its 30 minutes.
    late = db.session.scalars(
        select(SupportRequest).where(SupportRequest.urgency == "critical")
    ).first()
    late.response_due_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    overdue = page(client, "/support?overdue=1")
    assert "1 demande correspond aux filtres" in overdue and "1 en retard" in overdue
    assert "En retard : réponse attendue" in overdue


def test_alert_messages_say_support_is_on_it(app, source):
    from webapp.models import Incident
    from webapp.services import alerts

    member = demo_member("sarralbe")
    demo.fail(ROUTER)
    router = source.host_by_name(ROUTER)
    incident = Incident(
        member_id=member.id,
        key=router.hostid,
        hostid=router.hostid,
        cause="Routeur mairie",
        severity=4,
        dependents=3,
        down=True,
        opened_at=utcnow(),
    )
    assert "support" not in alerts.opening_text(member, [incident], utcnow()).body
    req = make_support_request(member, make_user("viewer", member=member), hostid=router.hostid)
    assert (
        "Une demande au support est ouverte depuis"
        in alerts.opening_text(member, [incident], utcnow()).body
    )
    support.add_comment(req, make_user("support"), "Nous appelons l’opérateur.")
    body = alerts.opening_text(member, [incident], utcnow()).body
    assert "Le support du syndicat s’en occupe depuis" in body


def test_the_summary_says_support_is_on_it_once_support_answered(app, client, login, source):
    member = demo_member("sarralbe")
    viewer = login(make_user("viewer", member=member))
    demo.fail(ROUTER)
    router, camera = camera_behind_router(source, member)
    home = page(client, "/membres/sarralbe/")
    assert "support" not in home.split('id="member-summary"')[1].split("</section>")[0]
    req = make_support_request(member, viewer, hostid=camera.id)
    summary = page(client, "/membres/sarralbe/").split('id="member-summary"')[1]
    assert "Une demande au support est ouverte depuis" in summary
    assert f'data-care-nodes="{router.hostid}"' in summary[:200]
    support.change_status(req, make_user("support"), "in_progress")
    api = client.get("/api/v1/members/sarralbe/map").get_json()
    assert any(
        "Le support du syndicat s’en occupe depuis" in s for s in api["summary"]["sentences"]
    )
    carte = page(client, "/membres/sarralbe/carte/dessin")
    assert f'data-node="{router.hostid}"' in carte and "node__care" in carte
    panel = page(client, f"/membres/sarralbe/equipements/{camera.id}")
    assert "Le support du syndicat s’en occupe depuis" in panel
    support.change_status(req, make_user("support"), "resolved", resolution="Box redémarrée")
    assert (
        "s’en occupe"
        not in page(client, "/membres/sarralbe/").split('id="member-summary"')[1][:2000]
    )


def test_the_worker_closes_resolved_requests_after_the_reopening_delay(app):
    from webapp.services.notify import Worker

    member = make_member()
    admin = make_user("member_admin", member=member)
    agent = make_user("support")
    t0 = utcnow()
    req = make_support_request(member, admin)
    support.change_status(req, agent, "resolved", resolution="Fait", now=t0)
    worker = Worker(app, channels={})
    assert worker.close_resolved_requests_hourly(t0 + timedelta(days=6)) == 0
    assert worker.close_resolved_requests_hourly(t0 + timedelta(days=6)) is None, "hourly"
    assert support.can_reopen(db.session.get(SupportRequest, req.id), t0 + timedelta(days=6))
    assert worker.close_resolved_requests_hourly(t0 + timedelta(days=8)) == 1
    row = db.session.get(SupportRequest, req.id)
    assert row.status == "closed" and row.entries[-1].detail["by"] == "system"
    with pytest.raises(Conflict):  # closed: no move back
        support.change_status(row, admin, "in_progress")


def test_a_file_is_a_message_like_a_comment(app):
    from webapp.services import attachments

    member = make_member()
    admin = make_user("member_admin", member=member)
    agent = make_user("support")
    req = make_support_request(member, admin)
    attachments.add(req, agent, b"%PDF-1.4\n%%EOF\n", "note-interne.pdf", internal=True)
    assert req.first_response_at is None, "an internal file is no answer"
    assert not [d for d in deliveries(admin) if "note-interne" in d.body]
    attachments.add(req, agent, b"%PDF-1.4\n%%EOF\n", "procedure.pdf")
    assert req.first_response_at is not None, "a file sent to the member is an answer"
    assert [d for d in deliveries(admin) if "procedure.pdf" in d.body]
    support.change_status(req, agent, "waiting_member")
    attachments.add(req, admin, b"%PDF-1.4\n%%EOF\n", "facture.pdf")
    assert req.status == "in_progress", "the member's file answers support's question"
    assert [d for d in deliveries(agent) if "facture.pdf" in d.body]


def test_an_acknowledged_failure_says_support_is_on_it_since_the_acknowledgement(
    app, client, login, source
):
    from webapp.live.monitor import get_monitor
    from webapp.services import acknowledgements

    member = demo_member("sarralbe")
    login(make_user("viewer", member=member))
    demo.fail(ROUTER)
    router = source.host_by_name(ROUTER)
    problem = next(p for p in source.problems() if p.hostid == router.hostid)
    acknowledgements.acknowledge(member, problem.eventid, make_user("support"))
    get_monitor().refresh()
    summary = page(client, "/membres/sarralbe/").split('id="member-summary"')[1][:3000]
    assert "Le support du syndicat s’en occupe depuis" in summary
