"""``flask vigie …`` commands, as technicians and scripts use them."""

import re

from sqlalchemy import select

from tests.factories import demo_member
from webapp.extensions import db
from webapp.models import Member
from webapp.services import accounts
from webapp.services import demo


def test_member_add_then_list(runner):
    result = runner.invoke(
        args=[
            "vigie",
            "member",
            "add",
            "--name",
            "Mairie de Sarralbe",
            "--slug",
            "sarralbe",
            "--kind",
            "commune",
            "--host-group",
            "Membres/sarralbe",
            "--siren",
            "732829320",
        ]
    )
    assert result.exit_code == 0, result.output
    member = db.session.execute(select(Member).where(Member.slug == "sarralbe")).scalar_one()
    assert member.group_names == ["Membres/sarralbe"]
    assert member.subscription.probes == 100
    listing = runner.invoke(args=["vigie", "member", "list"])
    assert "sarralbe" in listing.output


def test_member_add_refuses_bad_input(runner):
    demo_member("sarralbe")
    for args in (["--slug", "Bad Slug!"], ["--slug", "sarralbe"], ["--siren", "123"]):
        base = {"--name": "X", "--slug": "x-ok", "--kind": "commune", "--host-group": "Membres/x"}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [item for pair in base.items() for item in pair]
        result = runner.invoke(args=["vigie", "member", "add", *flat])
        assert result.exit_code == 1
        assert "Erreur" in result.output
    assert db.session.execute(select(Member)).scalars().all()[0].slug == "sarralbe"


def test_user_add_prints_a_one_time_link(app, runner, client):
    demo_member("sarralbe")
    result = runner.invoke(
        args=[
            "vigie",
            "user",
            "add",
            "--email",
            "Elu@Example.org",
            "--member",
            "sarralbe",
            "--role",
            "member_admin",
        ]
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"http\S+/mot-de-passe/definir/\S+", result.output).group(0)
    user = accounts.find_user("elu@example.org")
    assert user.memberships[0].role == "member_admin"
    assert client.get(link.removeprefix(app.config["BASE_URL"])).status_code == 200


def test_user_add_errors(runner):
    unknown = runner.invoke(
        args=["vigie", "user", "add", "--email", "a@example.org", "--member", "nope"]
    )
    assert unknown.exit_code == 1 and "membre inconnu" in unknown.output
    no_member = runner.invoke(args=["vigie", "user", "add", "--email", "a@example.org"])
    assert no_member.exit_code == 1


def test_staff_user_add(runner):
    result = runner.invoke(
        args=["vigie", "user", "add", "--email", "tech@example.org", "--staff", "support"]
    )
    assert result.exit_code == 0
    assert accounts.find_user("tech@example.org").is_staff


def test_demo_fail_and_repair_from_outside(app, runner, source):
    result = runner.invoke(args=["vigie", "demo", "fail", "sarralbe-routeur"])
    assert result.exit_code == 0 and "Panne simulée" in result.output
    assert "sarralbe-routeur" in demo.faults()
    # Another process (a new source on the same state file) sees it.
    from webapp.sources.demo import DemoSource

    other = DemoSource(state_file=source.state.path, incidents=False)
    assert [p.name for p in other.problems()] == ["Routeur mairie ne répond plus (ICMP)"]
    result = runner.invoke(args=["vigie", "demo", "repair", "sarralbe-routeur"])
    assert result.exit_code == 0 and "réparé" in result.output
    assert other.problems() == []


def test_demo_unknown_host_fails(runner):
    result = runner.invoke(args=["vigie", "demo", "fail", "nope"])
    assert result.exit_code == 1 and "équipement inconnu" in result.output


def test_demo_load_and_accounts(runner):
    assert runner.invoke(args=["vigie", "demo", "load"]).exit_code == 0
    output = runner.invoke(args=["vigie", "demo", "accounts"]).output
    assert demo.ADMIN_EMAIL in output and demo.DEMO_PASSWORD in output


def test_demo_outage_and_check_source(runner):
    assert "version 6.0" in runner.invoke(args=["vigie", "check-source"]).output
    runner.invoke(args=["vigie", "demo", "outage", "on"])
    result = runner.invoke(args=["vigie", "check-source"])
    assert result.exit_code == 1 and "injoignable" in result.output
    runner.invoke(args=["vigie", "demo", "outage", "off"])
    assert runner.invoke(args=["vigie", "check-source"]).exit_code == 0
