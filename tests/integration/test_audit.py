"""The audit log: each action writes its line (who, when, what, from where) in its own
transaction; the lines cannot be changed; /admin/journal filters them for syndicate
admins only and exports them as CSV; old lines are purged (CLI and delivery worker)."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.factories import make_member
from tests.factories import make_support_request
from tests.factories import make_user
from webapp.extensions import db as _db
from webapp.models import AuditEvent
from webapp.models import Member
from webapp.models import User
from webapp.models.choices import AuditKind
from webapp.services import audit
from webapp.services import notify
from webapp.services import tokens

BOM = "\ufeff".encode()


def lines(kind: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if kind is not None:
        query = query.where(AuditEvent.kind == kind)
    _db.session.expire_all()
    return list(_db.session.scalars(query))


def post_login(client, email: str, password: str):
    token = csrf_from(client, "/connexion")
    return client.post(
        "/connexion", data={"email": email, "password": password, "csrf_token": token}
    )


def line(kind, *, at=None, actor=None, member=None, actor_label=None, target=None, detail=None):
    row = audit.record(
        kind,
        actor=actor,
        member=member,
        actor_label=actor_label,
        target=target,
        detail=detail,
        ip="192.0.2.7",
        at=at,
    )
    _db.session.commit()
    return row


# ---- each action writes its line ------------------------------------------------------


def test_login_success_is_recorded_with_the_address(app, client):
    member = make_member()
    user = make_user("viewer", member)
    assert post_login(client, user.email, PASSWORD).status_code == 302
    (row,) = lines(AuditKind.LOGIN)
    assert (row.actor_id, row.actor_label, row.member_id) == (user.id, user.email, member.id)
    assert row.ip == "127.0.0.1"
    assert row.at is not None


@pytest.mark.parametrize(
    ("typed", "password", "reason"),
    [
        ("known", "not the password", "credentials"),
        ("nobody@example.org", "whatever", "credentials"),
        ("inactive", PASSWORD, "inactive"),
    ],
)
def test_refused_login_keeps_the_typed_address_never_the_password(
    app, client, typed, password, reason
):
    user = make_user("viewer", email="claire@example.org")
    if typed == "inactive":
        user.active = False
        _db.session.commit()
    email = "Claire@Example.org" if typed in ("known", "inactive") else typed
    assert post_login(client, email, password).status_code == 400
    (row,) = lines(AuditKind.LOGIN_FAILED)
    assert row.actor_id is None
    assert row.actor_label == email.lower()
    assert row.detail == {"reason": reason}
    assert row.ip == "127.0.0.1"
    assert password not in repr((row.actor_label, row.target, row.detail))
    assert lines(AuditKind.LOGIN) == []


def test_invitation_records_the_invitation_and_the_role_given(app, client, login):
    member = make_member()
    admin = login(make_user("member_admin", member))
    before = len(lines())
    token = csrf_from(client, f"/membres/{member.slug}/utilisateurs")
    response = client.post(
        f"/membres/{member.slug}/utilisateurs",
        data={
            "email": "new@example.org",
            "name": "Nouvel Agent",
            "role": "viewer",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    new = lines()[before:]
    assert {r.kind for r in new} == {AuditKind.INVITATION, AuditKind.ROLE_CHANGED}
    for row in new:
        assert (row.actor_id, row.member_id) == (admin.id, member.id)
        assert row.target == "user new@example.org"
        assert row.detail["role"] == "viewer"
        assert row.ip == "127.0.0.1"


def test_a_refused_invitation_records_nothing(app, client, login):
    """The line belongs to the action's transaction: no user, no line."""
    member = make_member()
    login(make_user("member_admin", member, email="taken@example.org"))
    before = len(lines())
    token = csrf_from(client, f"/membres/{member.slug}/utilisateurs")
    response = client.post(
        f"/membres/{member.slug}/utilisateurs",
        data={
            "email": "taken@example.org",
            "name": "Double",
            "role": "viewer",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert len(lines()) == before


def test_cli_user_add_records_the_role_given(app, runner):
    member = make_member(slug="rohrbach")
    result = runner.invoke(
        args=[
            "vigie",
            "user",
            "add",
            "--email",
            "chef@example.org",
            "--member",
            "rohrbach",
            "--role",
            "member_admin",
        ]
    )
    assert result.exit_code == 0, result.output
    staff = runner.invoke(
        args=["vigie", "user", "add", "--email", "ops@example.org", "--staff", "admin"]
    )
    assert staff.exit_code == 0, staff.output
    roles = lines(AuditKind.ROLE_CHANGED)[-2:]
    assert [(r.target, r.member_id, r.actor_id) for r in roles] == [
        ("user chef@example.org", member.id, None),
        ("user ops@example.org", None, None),
    ]
    assert roles[0].detail == {"role": "member_admin", "via": "cli"}
    assert roles[1].detail == {"staff_role": "admin", "via": "cli"}


def test_member_creation_is_recorded_from_the_page_and_the_cli(app, client, login, runner):
    admin = login(make_user("admin"))
    token = csrf_from(client, "/admin/membres/nouveau")
    response = client.post(
        "/admin/membres/nouveau",
        data={
            "name": "Commune X",
            "slug": "commune-x",
            "kind": "commune",
            "host_group": "Membres/x",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    result = runner.invoke(
        args=[
            "vigie",
            "member",
            "add",
            "--name",
            "Commune Y",
            "--slug",
            "commune-y",
            "--kind",
            "commune",
            "--host-group",
            "Membres/y",
        ]
    )
    assert result.exit_code == 0, result.output
    by_page, by_cli = lines(AuditKind.MEMBER_CREATED)[-2:]
    x = _db.session.scalars(select(Member).where(Member.slug == "commune-x")).one()
    assert (by_page.actor_id, by_page.member_id, by_page.target) == (
        admin.id,
        x.id,
        "member commune-x",
    )
    assert by_page.detail == {"slug": "commune-x", "kind": "commune", "host_groups": "Membres/x"}
    assert by_page.ip == "127.0.0.1"
    assert by_cli.actor_id is None and by_cli.detail["via"] == "cli" and by_cli.ip is None


def test_token_creation_and_revocation_are_recorded(app, client, login):
    member = make_member()
    user = login(make_user("viewer", member))
    token = csrf_from(client, "/profil/")
    client.post("/profil/jetons", data={"token_name": "Sauvegarde", "csrf_token": token})
    _db.session.expire_all()
    api_token = _db.session.get(User, user.id).api_tokens[0]
    client.post(f"/profil/jetons/{api_token.id}/revoquer", data={"csrf_token": token})
    client.post(f"/profil/jetons/{api_token.id}/revoquer", data={"csrf_token": token})  # again
    created = lines(AuditKind.TOKEN_CREATED)
    revoked = lines(AuditKind.TOKEN_REVOKED)
    assert len(created) == 1 and len(revoked) == 1, "a second revocation changes nothing"
    for row in created + revoked:
        assert (row.actor_id, row.member_id) == (user.id, member.id)
        assert row.target == f"token {api_token.id}"
        assert row.detail == {"name": "Sauvegarde", "prefix": api_token.prefix}
        assert row.ip == "127.0.0.1"


def test_kiosk_link_creation_and_revocation_are_recorded(app, client, login):
    staff = login(make_user("support"))
    token = csrf_from(client, "/mur/liens")
    assert (
        client.post("/mur/liens", data={"name": "Télé du bureau", "csrf_token": token}).status_code
        < 400
    )
    (created,) = lines(AuditKind.KIOSK_CREATED)
    link_id = int(created.target.split()[1])
    client.post(f"/mur/liens/{link_id}/revoquer", data={"csrf_token": token})
    (revoked,) = lines(AuditKind.KIOSK_REVOKED)
    for row in (created, revoked):
        assert row.actor_id == staff.id and row.target == f"kiosk {link_id}"
        assert row.detail["name"] == "Télé du bureau" and row.ip == "127.0.0.1"


def test_support_status_change_is_recorded(app, client, login):
    member = make_member()
    author = make_user("viewer", member)
    request = make_support_request(member, author, subject="Caméra", message="Éteinte")
    staff = login(make_user("support"))
    token = csrf_from(client, "/support")
    client.post(f"/support/{request.id}/cloturer", data={"csrf_token": token})
    client.post(f"/support/{request.id}/cloturer", data={"csrf_token": token})  # already closed
    (row,) = lines(AuditKind.SUPPORT_STATUS)
    assert (row.actor_id, row.member_id, row.target) == (
        staff.id,
        member.id,
        f"support {request.id}",
    )
    assert row.detail == {"from": "new", "to": "closed"}


def test_token_service_outside_a_request_has_no_address(app):
    user = make_user("admin")
    tokens.create(user, "Script")
    (row,) = lines(AuditKind.TOKEN_CREATED)
    assert row.ip is None and row.member_id is None


# ---- append-only ----------------------------------------------------------------------


def test_lines_cannot_be_changed_or_deleted_through_the_application(app):
    row = line(AuditKind.LOGIN, actor_label="a@example.org")
    row.actor_label = "someone-else@example.org"
    with pytest.raises(audit.AppendOnlyError):
        _db.session.commit()
    _db.session.rollback()
    _db.session.delete(_db.session.get(AuditEvent, row.id))
    with pytest.raises(audit.AppendOnlyError):
        _db.session.commit()
    _db.session.rollback()
    (kept,) = lines()
    assert kept.actor_label == "a@example.org"


# ---- the journal page -----------------------------------------------------------------


@pytest.mark.parametrize("role", ["support", "viewer", "member_admin"])
def test_journal_is_for_syndicate_admins_only(app, client, login, role):
    login(make_user(role))
    assert client.get("/admin/journal").status_code == 403
    assert client.get("/admin/journal.csv").status_code == 403


def test_journal_needs_a_login(app, client):
    response = client.get("/admin/journal")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert client.get("/admin/journal.csv").status_code == 302


def test_journal_shows_lines_newest_first_in_the_syndicate_time(app, client, login):
    member = make_member(name="Ville de Bitche", slug="bitche")
    line(
        AuditKind.LOGIN_FAILED,
        at=datetime(2026, 11, 30, 19, 9, tzinfo=UTC),
        actor_label="intrus@example.org",
        detail={"reason": "credentials"},
    )
    line(
        AuditKind.INVITATION,
        at=datetime(2026, 12, 1, 7, 30, tzinfo=UTC),
        actor_label="chef@example.org",
        member=member,
        target="user agent@example.org",
        detail={"role": "member_admin"},
    )
    login(make_user("admin"))
    page = client.get("/admin/journal").get_data(as_text=True)
    assert "Journal d’audit" in page
    invitation, refused = page.index("01/12/2026 à 8 h 30"), page.index("30/11/2026 à 20 h 09")
    assert invitation < refused, "newest first, in Europe/Paris"
    assert 'datetime="2026-12-01T08:30:00+01:00"' in page
    assert "Connexion refusée" in page and "adresse ou mot de passe incorrect" in page
    assert "Compte agent@example.org" in page
    assert "rôle : Administrateur" in page
    assert "Ville de Bitche" in page and "192.0.2.7" in page


def test_html_in_lines_is_escaped(app, client, login):
    line(
        AuditKind.LOGIN_FAILED,
        actor_label="<script>alert(1)</script>@x.fr",
        detail={"note": "<b>gras</b>"},
    )
    login(make_user("admin"))
    page = client.get("/admin/journal").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<b>gras</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@x.fr" in page
    assert "&lt;b&gt;gras&lt;/b&gt;" in page


def _seed_for_filters():
    a = make_member(name="Sarralbe", slug="sarralbe")
    b = make_member(name="Bitche", slug="bitche")
    # 30/11 23:30 UTC is 1 December in Paris: it belongs to the day of 01/12.
    line(
        AuditKind.LOGIN,
        at=datetime(2026, 11, 30, 22, 30, tzinfo=UTC),
        actor_label="Claire.Agent@sarralbe.fr",
        member=a,
        target="t-late-november",
    )
    line(
        AuditKind.LOGIN,
        at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),
        actor_label="claire.agent@sarralbe.fr",
        member=a,
        target="t-first-december",
    )
    line(
        AuditKind.TOKEN_CREATED,
        at=datetime(2026, 12, 2, 10, tzinfo=UTC),
        actor_label="paul@bitche.fr",
        member=b,
        target="t-bitche-token",
    )
    line(
        AuditKind.LOGIN_FAILED,
        at=datetime(2026, 12, 3, 10, tzinfo=UTC),
        actor_label="100%_sure@example.org",
        target="t-percent",
    )
    return a, b


def _targets(client, query: str) -> set[str]:
    response = client.get("/admin/journal?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    return {
        t
        for t in ("t-late-november", "t-first-december", "t-bitche-token", "t-percent")
        if t in page
    }


def test_journal_filters(app, client, login):
    _seed_for_filters()
    login(make_user("admin", email="boss@syndicat.fr"))
    every = {"t-late-november", "t-first-december", "t-bitche-token", "t-percent"}
    assert _targets(client, "") == every
    assert _targets(client, "member=sarralbe") == {"t-late-november", "t-first-december"}
    assert _targets(client, "member=bitche") == {"t-bitche-token"}
    assert _targets(client, "actor=CLAIRE") == {"t-late-november", "t-first-december"}
    assert _targets(client, "actor=%25_") == {"t-percent"}, "% and _ are literal"
    assert _targets(client, "actor=%25") == {"t-percent"}
    assert _targets(client, "kind=token_created") == {"t-bitche-token"}
    assert _targets(client, "start=2026-12-01&end=2026-12-01") == {"t-first-december"}
    assert _targets(client, "end=30/11/2026") == {"t-late-november"}
    assert _targets(client, "start=02/12/2026") == {"t-bitche-token", "t-percent"}
    assert _targets(client, "member=sarralbe&kind=login&start=2026-12-01") == {"t-first-december"}
    assert _targets(client, "kind=order_approved") == set()
    assert "Aucune ligne pour ces filtres." in client.get("/admin/journal?kind=order_approved").text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=31/02/2026", "Date invalide"),
        ("end=demain", "Date invalide"),
        ("start=2026-13-01", "Date invalide"),
        ("start=0001-01-01", "Date invalide"),
        ("start=" + "9" * 5000, "Date invalide"),
        ("start=2026-12-02&end=2026-12-01", "La date de fin précède la date de début."),
        ("kind=drop_table", "Type inconnu"),
        ("member=nulle-part", "Membre inconnu"),
        ("actor=" + "x" * 100_000, "254 caractères au plus."),
    ],
)
def test_bad_filters_are_told_in_french(app, client, login, query, message):
    login(make_user("admin"))
    response = client.get("/admin/journal?" + query)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "Le formulaire contient des erreurs" in page
    assert 'aria-invalid="true"' in page
    export = client.get("/admin/journal.csv?" + query)
    assert export.status_code == 400 and message in export.get_data(as_text=True)


@pytest.mark.parametrize("number", ["0", "-1", "abc", "1.5", "9999999"])
def test_bad_page_numbers_are_refused_in_french(app, client, login, number):
    login(make_user("admin"))
    response = client.get(f"/admin/journal?page={number}")
    assert response.status_code == 400
    assert "Numéro de page invalide" in response.get_data(as_text=True)


def test_journal_pages_keep_the_filters(app, client, login):
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    for n in range(55):
        line(AuditKind.LOGIN, at=start + timedelta(minutes=n), actor_label=f"n{n:02d}@pool.test")
    line(AuditKind.TOKEN_CREATED, at=start, actor_label="other@pool.test")
    login(make_user("admin"))
    first = client.get("/admin/journal?kind=login&actor=pool.test").get_data(as_text=True)
    assert "56 lignes" not in first and "55 lignes pour ces filtres" in first
    assert "n54@pool.test" in first and "n04@pool.test" not in first
    assert "/admin/journal?page=2&amp;actor=pool.test&amp;kind=login" in first
    second = client.get("/admin/journal?page=2&kind=login&actor=pool.test").get_data(as_text=True)
    assert "n04@pool.test" in second and "n00@pool.test" in second
    assert "n05@pool.test" not in second and "other@pool.test" not in second
    assert "Page 2 sur 2" in second
    empty = client.get("/admin/journal?page=3&kind=login&actor=pool.test").get_data(as_text=True)
    assert "Rien sur cette page." in empty


# ---- CSV export -----------------------------------------------------------------------


def test_csv_export_is_utf8_with_bom_semicolons_and_the_filters(app, client, login):
    _seed_for_filters()
    line(
        AuditKind.LOGIN_FAILED,
        at=datetime(2026, 12, 4, 9, tzinfo=UTC),
        actor_label='=HYPERLINK("http://evil")',
        detail={"reason": "credentials"},
    )
    login(make_user("admin", email="boss@syndicat.fr"))
    response = client.get("/admin/journal.csv")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(BOM)
    text = body[len(BOM) :].decode("utf-8")
    header, *rows = csv.reader(io.StringIO(text), delimiter=";")
    assert header == [
        "Date (Europe/Paris)",
        "Type",
        "Acteur",
        "Membre",
        "Objet",
        "Détail",
        "Adresse",
    ]
    assert text.splitlines()[0].count(";") == 6
    assert all(len(row) == 7 for row in rows)
    # Besides the lines seeded: the members' and the admin's creation, the admin's login.
    assert len(rows) == 5 + 4
    rows = [row for row in rows if row[4].startswith("t-") or row[2].startswith("'=")]
    assert len(rows) == 5
    assert rows[0][:3] == [
        "04/12/2026 10:00:00",
        "Connexion refusée",
        '\'=HYPERLINK("http://evil")',
    ]
    assert rows[0][5] == "motif : adresse ou mot de passe incorrect" and rows[0][6] == "192.0.2.7"
    assert rows[-1][0] == "30/11/2026 23:30:00" and rows[-1][3] == "Sarralbe"

    filtered = client.get("/admin/journal.csv?member=bitche").get_data()
    filtered_rows = list(csv.reader(io.StringIO(filtered[len(BOM) :].decode()), delimiter=";"))
    assert [r[4] for r in filtered_rows[1:]] == ["Membre bitche", "t-bitche-token"]


def test_csv_of_an_empty_selection_is_its_header(app, client, login):
    login(make_user("admin"))
    body = client.get("/admin/journal.csv?kind=order_rejected").get_data()
    assert body.startswith(BOM) and body.count(b"\r\n") == 1


# ---- retention ------------------------------------------------------------------------


def _aged_lines():
    now = datetime.now(UTC)
    old = line(AuditKind.LOGIN, at=now - timedelta(days=400), actor_label="old@example.org")
    recent = line(AuditKind.LOGIN, at=now - timedelta(days=10), actor_label="new@example.org")
    return old.id, recent.id


def test_cli_purge_removes_lines_older_than_the_retention(app, runner):
    old, recent = _aged_lines()
    app.config["AUDIT_RETENTION_DAYS"] = 365
    result = runner.invoke(args=["vigie", "audit", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 ligne(s) de plus de 365 jours supprimée(s)" in result.output
    assert [r.id for r in lines()] == [recent]
    app.config["AUDIT_RETENTION_DAYS"] = 5
    assert runner.invoke(args=["vigie", "audit", "purge"]).exit_code == 0
    assert lines() == []
    assert old != recent


def test_cli_purge_refuses_a_retention_below_one_day(app, runner):
    _aged_lines()
    app.config["AUDIT_RETENTION_DAYS"] = 0
    result = runner.invoke(args=["vigie", "audit", "purge"])
    assert result.exit_code == 1
    assert "VIGIE_AUDIT_RETENTION_DAYS doit valoir au moins 1" in result.output
    assert len(lines()) == 2


def test_delivery_worker_purges_at_most_once_a_day(app):
    old, recent = _aged_lines()
    worker = notify.Worker(app, channels={})
    today = datetime.now(UTC)
    assert worker.purge_audit_daily(today) == 1
    assert [r.id for r in lines()] == [recent]
    line(AuditKind.LOGIN, at=today - timedelta(days=500), actor_label="older@example.org")
    assert worker.purge_audit_daily(today + timedelta(minutes=5)) is None, "once a day"
    assert len(lines()) == 2
    assert worker.purge_audit_daily(today + timedelta(days=1)) == 1, "the next day again"
    assert [r.id for r in lines()] == [recent]
    assert old != recent


def test_delivery_worker_loop_runs_the_purge(app):
    """The running worker's first round purges (waited for, never slept on)."""
    import threading

    _old, recent = _aged_lines()
    worker = notify.Worker(app, channels={})
    purged = threading.Event()
    purge = worker.purge_audit_daily

    def purge_and_tell(now=None):
        removed = purge(now)
        purged.set()
        return removed

    worker.purge_audit_daily = purge_and_tell
    thread = threading.Thread(target=worker.run, kwargs={"interval": 0.05}, daemon=True)
    thread.start()
    try:
        assert purged.wait(10), "the worker never purged"
    finally:
        worker.stop()
        thread.join(timeout=5)
    assert worker.audit_purged_on == datetime.now(UTC).date()
    assert [r.id for r in lines()] == [recent]
