"""The legal pages a public service owes (issue 15): open to all, configured, consistent.

/accessibilite (computed from docs/rgaa), /mentions-legales, /donnees-personnelles,
/contact, /.well-known/security.txt (RFC 9116), and the footer of every page.
"""

from __future__ import annotations

import csv
import html
import re
import tomllib
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest

from tests import factories
from webapp.services import rgaa

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "rgaa"
PAGES = ["/accessibilite", "/mentions-legales", "/donnees-personnelles", "/contact"]

CONFIGURED = {
    "LEGAL_PUBLISHER": "Syndicat Test Numérique",
    "LEGAL_DIRECTOR": "Mme Camille Martin, présidente",
    "LEGAL_HOST": "Le syndicat, salle serveurs de Metz-Borny",
    "CONTACT_PHONE": "03 87 12 34 56",
    "CONTACT_HOURS": "le mardi de 9 h à 11 h",
    "CONTACT_POSTAL_ADDRESS": "Syndicat Test, 2 place d’Armes, 57000 Metz",
    "DATA_CONTROLLER": "Syndicat Test, représenté par sa présidente",
    "DPO_CONTACT": "dpo@syndicat-test.example.org",
    "SECURITY_CONTACT": "securite@syndicat-test.example.org",
    "ACCESSIBILITY_CONTACT": "a11y@syndicat-test.example.org",
}


def text_of(response) -> str:
    """The page's text, entities decoded (« l’ » is written &#39; or ’ by Jinja)."""
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def configured(app):
    app.config.update(CONFIGURED)
    return app


def _grid_figures() -> tuple[float, str, int]:
    """The rate and status recomputed here from grille.csv, independently of the service."""
    per_criterion: dict[str, list[str]] = {}
    with (DOCS / "grille.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            per_criterion.setdefault(row["critere"], []).append(row["resultat"])
    met = failed = 0
    for results in per_criterion.values():
        if "NC" in results or "NT" in results:
            failed += 1
        elif any(r == "C" for r in results):
            met += 1
    rate = 100 * met / (met + failed)
    status = "totalement" if rate >= 100 else "partiellement" if rate >= 50 else "non"
    return rate, status, met


@pytest.mark.parametrize("path", PAGES)
def test_each_page_answers_without_login(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "/connexion" not in response.headers.get("Location", "")
    page = text_of(response)
    assert '<html lang="fr">' in page
    assert "<h1" in page


def test_legal_notice_shows_the_configured_publisher_director_and_host(client, configured):
    page = text_of(client.get("/mentions-legales"))
    assert "Mentions légales" in page
    assert "Vigie est édité par Syndicat Test Numérique." in page
    assert "Directeur de la publication" in page and "Mme Camille Martin, présidente" in page
    assert "Hébergement" in page and "Le syndicat, salle serveurs de Metz-Borny" in page
    assert 'href="mailto:securite@syndicat-test.example.org"' in page
    assert "démonstration" not in page  # every setting configured: no demo notice


def test_pages_say_when_their_details_are_still_the_demo_ones(client):
    page = text_of(client.get("/mentions-legales"))
    assert "Ces coordonnées sont celles de la démonstration" in page
    assert "Réglages à configurer :" in page
    assert "VIGIE_CONTACT_PHONE" in page
    assert "Moselle Fibre" in page


def test_contact_page_gives_phone_hours_and_postal_address(client, configured):
    page = text_of(client.get("/contact"))
    assert "Nous contacter" in page
    assert 'href="tel:+33387123456"' in page and "03 87 12 34 56" in page
    assert "le mardi de 9 h à 11 h" in page
    assert "Syndicat Test, 2 place d’Armes, 57000 Metz" in page
    assert "a11y@syndicat-test.example.org" in page
    assert "dpo@syndicat-test.example.org" in page


def test_personal_data_page_says_what_why_how_long_who_and_rights(client, configured, app):
    app.config.update(
        AUDIT_RETENTION_DAYS=90,
        SMS_PROVIDER="ovh",
        MAIL_SERVER="smtp.syndicat-test.example.org",
        PUSH_TTL=7200,
        SUPPORT_REOPEN_DAYS=5,
    )
    page = text_of(client.get("/donnees-personnelles"))
    for collected in (
        "Adresse électronique",
        "Numéro de téléphone portable",
        "journal des connexions et d’audit",
        "adresse IP",
        "Abonnements aux notifications",
        "Demandes au support",
        "pièces jointes",
    ):
        assert collected in page, collected
    assert "mission d’intérêt public" in page
    assert "90 jours, puis effacement automatique" in page
    assert "rouverte pendant 5 jours" in page
    assert "au plus 2 heures" in page
    assert "OVHcloud" in page
    assert "smtp.syndicat-test.example.org" in page
    for right in ("accéder", "rectifier", "effacer", "limitation", "opposer", "CNIL"):
        assert right in page, right
    assert "Syndicat Test, représenté par sa présidente" in page
    assert 'href="mailto:dpo@syndicat-test.example.org"' in page


def test_personal_data_page_without_sms_or_mail_server_says_so(client, app):
    app.config.update(SMS_PROVIDER=None, MAIL_SERVER=None)
    page = text_of(client.get("/donnees-personnelles"))
    assert "Aucun prestataire de SMS n’est configuré" in page
    assert "Aucun serveur de courrier électronique n’est configuré" in page
    assert "365 jours" in page  # the default AUDIT_RETENTION_DAYS


def _security_fields(body: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z-]+): (\S.*)", line)
        assert match, f"not a field line: {line!r}"
        fields.setdefault(match.group(1).lower(), []).append(match.group(2))
    return fields


def test_security_txt_follows_rfc_9116(client, configured, app):
    app.config["BASE_URL"] = "https://vigie.syndicat-test.example.org"
    before = datetime.now(UTC)
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.mimetype_params.get("charset") == "utf-8"
    body = response.get_data(as_text=True)
    assert body.endswith("\n")
    fields = _security_fields(body)
    assert set(fields) <= {
        "contact",
        "expires",
        "encryption",
        "acknowledgments",
        "preferred-languages",
        "canonical",
        "policy",
        "hiring",
        "csaf",
    }
    assert fields["contact"] == ["mailto:securite@syndicat-test.example.org"]
    assert len(fields["expires"]) == 1  # exactly once (RFC 9116, 2.5.5)
    expires = datetime.strptime(fields["expires"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before < expires <= before + timedelta(days=365)
    assert fields["preferred-languages"] == ["fr, en"]
    assert fields["canonical"] == [
        "https://vigie.syndicat-test.example.org/.well-known/security.txt"
    ]


def test_security_txt_expires_is_computed_at_request_time(app):
    from webapp.presenters import legal

    with app.test_request_context():
        later = legal.security_txt(now=datetime(2030, 1, 1, tzinfo=UTC))
    assert "Expires: 2030-06-30T00:00:00Z" in later


def test_security_contact_may_be_an_https_address(client, app):
    app.config["SECURITY_CONTACT"] = "https://syndicat-test.example.org/securite"
    body = client.get("/.well-known/security.txt").get_data(as_text=True)
    assert "Contact: https://syndicat-test.example.org/securite\n" in body


def _footer(page: str) -> str:
    start = page.index('<footer class="site-footer">')
    return page[start : page.index("</footer>", start)]


def test_footer_of_a_public_page_links_the_four_pages_and_gives_the_contact(client, configured):
    _rate, status, _met = _grid_figures()
    footer = _footer(text_of(client.get("/connexion")))
    assert 'aria-label="Informations légales"' in footer
    assert f'href="/accessibilite">Accessibilité : {status} conforme</a>' in footer
    for path, label in (
        ("/mentions-legales", "Mentions légales"),
        ("/donnees-personnelles", "Données personnelles"),
        ("/contact", "Nous contacter"),
    ):
        assert f'href="{path}">{label}</a>' in footer
    assert '<a href="tel:+33387123456">03 87 12 34 56</a>' in footer
    assert "Syndicat Test, 2 place d’Armes, 57000 Metz" in footer


def test_footer_is_on_signed_in_pages_too(client, login_as):
    member = factories.demo_member("sarralbe")
    login_as("viewer", member=member)
    footer = _footer(text_of(client.get("/membres/sarralbe/")))
    assert 'href="/accessibilite">Accessibilité : ' in footer
    assert 'href="/contact">Nous contacter</a>' in footer
    assert "Par téléphone :" in footer and "Par courrier :" in footer


def test_footer_marks_the_current_legal_page(client):
    footer = _footer(text_of(client.get("/contact")))
    assert 'href="/contact" aria-current="page">Nous contacter</a>' in footer


def test_statement_status_and_rate_are_those_of_the_grid(client):
    rate, status, met = _grid_figures()
    page = text_of(client.get("/accessibilite"))
    shown = f"{rate:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    assert f"Vigie est {status} conforme avec le référentiel général" in page
    assert f"révèle que {shown} % des critères du RGAA version 4.1 sont respectés" in page
    assert re.search(rf"<dt>Critères respectés</dt><dd>{met}</dd>", page)
    assert "Défenseur des droits" in page
    assert "Libre réponse 71120, 75342 Paris CEDEX 07" in page
    assert "formulaire.defenseurdesdroits.fr" in page
    assert "defenseurdesdroits.fr/saisir/delegues" in page


def test_statement_lists_its_mandatory_sections(client, configured):
    page = text_of(client.get("/accessibilite"))
    for heading in (
        "État de conformité",
        "Résultats des tests",
        "Non-conformités",
        "Dérogations pour charge disproportionnée",
        "Contenus non soumis à l’obligation d’accessibilité",
        "Environnement de test",
        "Retour d’information et contact",
        "Voies de recours",
    ):
        assert f">{heading}</h" in page, heading
    assert "Chromium" in page and "axe-core" in page
    assert "aucune ; vérifications automatiques axe-core et manuelles au clavier." in page
    assert 'href="mailto:a11y@syndicat-test.example.org"' in page
    assert "03 87 12 34 56" in page and "2 place d’Armes" in page
    for page_meta in tomllib.loads((DOCS / "audit.toml").read_text(encoding="utf-8"))["pages"]:
        assert page_meta["titre"] in page
    audit = rgaa.load()
    for criterion in audit.with_result("NC"):
        assert f"Critère {criterion.number}</strong>" in page


def test_grid_covers_the_106_criteria_on_every_audited_page_with_a_method():
    with (DOCS / "criteres.csv").open(encoding="utf-8", newline="") as handle:
        criteria = list(csv.DictReader(handle, delimiter=";"))
    assert len(criteria) == 106
    assert len({c["thematique"] for c in criteria}) == 13
    pages = [p["id"] for p in tomllib.loads((DOCS / "audit.toml").read_text("utf-8"))["pages"]]
    with (DOCS / "grille.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    cells = {(r["critere"], r["page"]) for r in rows}
    assert cells == {(c["critere"], p) for c in criteria for p in pages}
    assert len(rows) == len(cells)
    for row in rows:
        assert row["resultat"] in ("C", "NC", "NA", "NT"), row
        if row["resultat"] in ("C", "NA"):
            assert row["methode"].strip(), f"{row['critere']} on {row['page']}: claimed unchecked"
        if row["resultat"] == "NT":
            assert row["detail"].strip(), row


def _write_audit(tmp: Path, results: dict[str, list[str]]) -> Path:
    (tmp / "criteres.csv").write_text(
        "critere;thematique;titre;wcag;regles_axe\n"
        + "".join(f"{n};Images;Titre {n};1.1.1;\n" for n in results),
        encoding="utf-8",
    )
    (tmp / "audit.toml").write_text(
        'auditeur = "test"\n[[pages]]\nid = "a"\ntitre = "A"\nchemin = "/a"\n'
        '[[pages]]\nid = "b"\ntitre = "B"\nchemin = "/b"\n',
        encoding="utf-8",
    )
    lines = ["critere;thematique;page;resultat;methode;detail"]
    for number, (a, b) in results.items():
        lines += [f"{number};Images;a;{a};m;d", f"{number};Images;b;{b};m;d"]
    (tmp / "grille.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp


def test_a_criterion_is_met_only_when_met_or_not_applicable_everywhere(tmp_path):
    audit = rgaa.load(
        _write_audit(
            tmp_path,
            {"1.1": ["C", "NA"], "1.2": ["C", "NC"], "1.3": ["NA", "NA"], "1.4": ["C", "NT"]},
        )
    )
    assert {c.number: c.result for c in audit.criteria} == {
        "1.1": "C",
        "1.2": "NC",
        "1.3": "NA",
        "1.4": "NT",
    }
    assert (audit.met, audit.not_met, audit.not_verified, audit.not_applicable) == (1, 1, 1, 1)
    assert audit.rate == pytest.approx(33.3)  # a non-verified criterion counts as not met
    assert audit.status == "none"


@pytest.mark.parametrize(
    ("results", "status", "label"),
    [
        ({"1.1": ["C", "C"], "1.2": ["C", "NA"]}, "total", "totalement conforme"),
        ({"1.1": ["C", "C"], "1.2": ["NC", "C"]}, "partial", "partiellement conforme"),
        ({"1.1": ["NT", "C"], "1.2": ["NC", "C"], "1.3": ["C", "C"]}, "none", "non conforme"),
    ],
)
def test_status_in_the_footer_follows_the_grid(client, app, tmp_path, results, status, label):
    app.config["ACCESSIBILITY_AUDIT_DIR"] = str(_write_audit(tmp_path, results))
    assert rgaa.load(tmp_path).status == status
    page = text_of(client.get("/mentions-legales"))
    assert f"Accessibilité : {label}</a>" in _footer(page)
    statement = text_of(client.get("/accessibilite"))
    assert f"Vigie est {label} avec le référentiel" in statement


def test_pages_are_translated_in_english(client):
    client.set_cookie("vigie_lang", "en")
    page = text_of(client.get("/accessibilite"))
    assert '<html lang="en">' in page
    assert "Accessibility statement" in page
