"""``flask vigie zabbix-check`` and its admin page, on a Zabbix spoken to by a fake transport."""

from tests.factories import demo_member
from tests.factories import make_user
from webapp.services.zabbix_check import run_checks
from webapp.sources.base import HostGroup
from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable


class FakeZabbix:
    name = "zabbix"

    def __init__(self, version="6.0.14", groups=(), fail=None):
        self._version, self._groups, self._fail = version, groups, fail

    def version(self):
        if self._fail == "url":
            raise SourceUnavailable("Connection refused")
        return self._version

    def host_groups(self):
        if self._fail == "token":
            raise SourceError("Zabbix hostgroup.get: Not authorised.")
        return [HostGroup(str(i), name) for i, name in enumerate(self._groups)]


def levels(findings):
    return [(f.level, f.message) for f in findings]


def test_everything_right(app):
    demo_member("sarralbe")
    findings = run_checks(FakeZabbix(groups=["Membres/sarralbe"]))
    assert {f.level for f in findings} == {"ok"}
    assert any("1 groupes des membres sont lisibles" in f.message for f in findings)


def test_missing_unassigned_and_foreign_groups(app):
    demo_member("sarralbe")
    demo_member("bitche")
    findings = run_checks(FakeZabbix(groups=["Membres/sarralbe", "Membres/metz", "Zabbix servers"]))
    text = "\n".join(f"{f.level}: {f.message}" for f in findings)
    assert (
        "error: Groupes de membres introuvables ou non lisibles avec ce jeton : "
        "Membres/bitche." in text
    )
    assert "warning: Groupes Zabbix sans membre dans Vigie : Membres/metz." in text
    assert "Zabbix servers" in text


def test_bad_url_token_and_version(app):
    assert run_checks(FakeZabbix(fail="url"))[0].level == "error"
    token = run_checks(FakeZabbix(fail="token"))
    assert token[-1].level == "error" and "jeton" in token[-1].message
    old = run_checks(FakeZabbix(version="5.0.1", groups=[]))
    assert any(f.level == "warning" and "5.0.1" in f.message for f in old)


def test_cli_without_token_fails_in_french(runner):
    result = runner.invoke(args=["vigie", "zabbix-check"])
    assert result.exit_code == 1
    assert "Aucun jeton" in result.output


def test_admin_page(app, client, login):
    login(make_user("admin"))
    page = client.get("/admin/zabbix").get_data(as_text=True)
    assert "Connexion à Zabbix" in page and "Aucun jeton" in page
    login_viewer = app.test_client()
    assert login_viewer.get("/admin/zabbix").status_code == 302
