"""``flask vigie …``: administration from the command line."""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.channels import registry
from webapp.channels.base import ChannelConfigError
from webapp.config import ConfigError
from webapp.config import check_production
from webapp.extensions import db
from webapp.extensions import socketio
from webapp.live.events import QueuePublisher
from webapp.live.leader import make_lock
from webapp.live.monitor import Monitor
from webapp.live.monitor import become_owner
from webapp.live.monitor import get_monitor
from webapp.live.poller import Poller
from webapp.models import Member
from webapp.models.choices import MemberKind
from webapp.models.choices import MemberRole
from webapp.models.choices import StaffRole
from webapp.services import accounts
from webapp.services import alerts
from webapp.services import demo
from webapp.services import members as member_service
from webapp.services import meter
from webapp.services import notify
from webapp.services import two_factor
from webapp.services.errors import ValidationError
from webapp.sources.base import MonitoringSource
from webapp.sources.base import SourceConfigError
from webapp.sources.base import SourceError
from webapp.sources.base import SourceUnavailable
from webapp.sources.base import UnknownHost


class Failure(click.ClickException):
    """A command's failure: its message alone on stderr (already French), exit code 1."""

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True, file=file)


def _fail(message: str, code: int = 1) -> None:
    failure = Failure(message)
    failure.exit_code = code
    raise failure


def _source(monitor: Monitor | None = None) -> MonitoringSource:
    """The configured source, built now: a wrong setting ends the command in one line."""
    try:
        return (monitor or get_monitor()).source
    except SourceConfigError as exc:
        _fail(f"Erreur : {exc}")


def _check_source(source: MonitoringSource) -> tuple[str, int]:
    """Ask the source its version, then read its groups (the token): both, or one line."""
    zabbix = source.name == "zabbix"
    try:
        version = source.version()
    except SourceError as exc:
        where = f" à l'adresse VIGIE_ZABBIX_URL={getattr(source, 'url', '?')}" if zabbix else ""
        _fail(f"Erreur : source {source.name} injoignable{where} : {exc}")
    try:
        groups = source.host_groups()
    except SourceUnavailable as exc:
        _fail(f"Erreur : source {source.name} injoignable : {exc}")
    except SourceError as exc:
        what = " (VIGIE_ZABBIX_TOKEN, ou VIGIE_ZABBIX_USER/PASSWORD)" if zabbix else ""
        _fail(f"Erreur : source {source.name} : accès refusé{what} : {exc}")
    return version, len(groups)


def _validation(exc: ValidationError) -> None:
    _fail("\n".join(f"Erreur ({field}) : {message}" for field, message in exc.errors.items()))


@click.group()
def vigie() -> None:
    """Administration de Vigie."""


@vigie.group()
def member() -> None:
    """Membres du syndicat."""


@member.command("add")
@click.option("--name", required=True, help="Nom du membre.")
@click.option("--slug", required=True, help="Identifiant dans les adresses (ex. sarralbe).")
@click.option("--kind", type=click.Choice([k.value for k in MemberKind]), required=True)
@click.option(
    "--host-group",
    "host_groups",
    multiple=True,
    required=True,
    help="Groupe d'hôtes Zabbix (répétable).",
)
@click.option("--siren", default=None)
@click.option("--contact-email", default=None)
@with_appcontext
def member_add(name, slug, kind, host_groups, siren, contact_email) -> None:
    """Créer un membre."""
    try:
        created = member_service.create_member(
            name=name,
            slug=slug,
            kind=kind,
            siren=siren,
            host_groups=list(host_groups),
            contact_email=contact_email,
            via="cli",
        )
    except ValidationError as exc:
        _validation(exc)
    click.echo(f"Membre créé : {created.slug} ({created.name})")


@member.command("list")
@with_appcontext
def member_list() -> None:
    """Lister les membres."""
    for row in member_service.all_members():
        click.echo(f"{row.slug}\t{row.name}\t{', '.join(row.group_names)}")


@vigie.group()
def user() -> None:
    """Comptes utilisateurs."""


@user.command("add")
@click.option("--email", required=True)
@click.option("--name", default=None, help="Nom affiché (par défaut : l'adresse).")
@click.option("--member", "member_slug", default=None, help="Identifiant du membre.")
@click.option(
    "--role", type=click.Choice([r.value for r in MemberRole]), default=MemberRole.VIEWER.value
)
@click.option(
    "--staff",
    type=click.Choice([r.value for r in StaffRole]),
    default=None,
    help="Rôle au syndicat (support ou admin) au lieu d'un membre.",
)
@with_appcontext
def user_add(email, name, member_slug, role, staff) -> None:
    """Créer un compte et afficher son lien de définition du mot de passe."""
    target = None
    if member_slug:
        target = db.session.execute(
            select(Member).where(Member.slug == member_slug)
        ).scalar_one_or_none()
        if target is None:
            _fail(f"Erreur : membre inconnu « {member_slug} ».")
    try:
        created = accounts.create_user(
            email, name or email, member=target, role=role, staff_role=staff, via="cli"
        )
    except ValidationError as exc:
        _validation(exc)
    click.echo(f"Compte créé : {created.email}")
    click.echo("Lien (usage unique) pour choisir le mot de passe :")
    click.echo(accounts.password_link(created))


@user.command("reset-2fa")
@click.option("--email", required=True)
@with_appcontext
def user_reset_two_factor(email) -> None:
    """Retirer la double authentification d'un compte (téléphone perdu, plus de code de secours)."""
    found = accounts.find_user(email)
    if found is None:
        _fail(f"Erreur : compte inconnu « {email} ».")
    if not two_factor.reset(found, by="cli"):
        _fail(f"Erreur : la double authentification n'est pas activée pour « {found.email} ».")
    click.echo(f"Double authentification retirée pour {found.email} ; ses sessions sont fermées.")
    if two_factor.required_for(found):
        click.echo("Son rôle l'impose : elle lui sera demandée à sa prochaine connexion.")


@vigie.group("demo")
def demo_group() -> None:
    """Piloter la source de démonstration."""


def _require_demo() -> None:
    if not demo.enabled():
        _fail("Erreur : la source configurée n'est pas la démonstration (VIGIE_SOURCE=demo).")


@demo_group.command("load")
@with_appcontext
def demo_load() -> None:
    """Charger les membres et comptes de démonstration (idempotent ; aussi sur le Zabbix de
    développement, qui a le même parc)."""
    try:
        created = demo.load()
    except RuntimeError as exc:
        _fail(f"Erreur : {exc}")
    click.echo(f"Données de démonstration chargées ({created} nouvelles lignes).")


@demo_group.command("accounts")
@with_appcontext
def demo_accounts() -> None:
    """Afficher les comptes de démonstration."""
    for email, password, what in demo.demo_accounts():
        click.echo(f"  {email:<42} {password}   ({what})")


@demo_group.command("fail")
@click.argument("host")
@with_appcontext
def demo_fail(host: str) -> None:
    """Simuler la panne de l'équipement HOST (nom technique)."""
    _require_demo()
    try:
        demo.fail(host)
    except UnknownHost:
        _fail(f"Erreur : équipement inconnu « {host} ».")
    click.echo(f"Panne simulée sur {host}.")


@demo_group.command("warn")
@click.argument("host")
@with_appcontext
def demo_warn(host: str) -> None:
    """Simuler une alerte sans panne sur HOST (disque du NAS à 92 %…)."""
    _require_demo()
    try:
        demo.warn(host)
    except UnknownHost:
        _fail(f"Erreur : équipement inconnu « {host} ».")
    click.echo(f"Alerte simulée sur {host} (l'équipement fonctionne toujours).")


@demo_group.command("repair")
@click.argument("host")
@with_appcontext
def demo_repair(host: str) -> None:
    """Réparer l'équipement HOST."""
    _require_demo()
    try:
        repaired = demo.repair(host)
    except UnknownHost:
        _fail(f"Erreur : équipement inconnu « {host} ».")
    click.echo(f"{host} réparé." if repaired else f"{host} n'était pas en panne.")


@demo_group.command("outage")
@click.argument("state", type=click.Choice(["on", "off"]))
@with_appcontext
def demo_outage(state: str) -> None:
    """Simuler l'arrêt complet de la source (on) ou son retour (off)."""
    _require_demo()
    demo.set_outage(state == "on")
    click.echo("Source arrêtée." if state == "on" else "Source rétablie.")


@demo_group.command("hosts")
@click.option("--member", "member_slug", default=None)
@with_appcontext
def demo_hosts(member_slug: str | None) -> None:
    """Lister les équipements de la démonstration (nom technique et nom affiché)."""
    _require_demo()
    source = _source()
    groups = None
    if member_slug:
        groups = [f"Membres/{member_slug}"]
    for host in source.hosts(groups):
        click.echo(f"{host.host}\t{host.name}")


@vigie.command("check-source")
@with_appcontext
def check_source() -> None:
    """Vérifier que la source de supervision répond."""
    source = _source()
    version, groups = _check_source(source)
    click.echo(f"Source {source.name} : version {version}, {groups} groupes d'hôtes.")


@vigie.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Démarrer le portail (HTTP + websockets) avec le poller intégré."""
    from flask import current_app

    app = current_app._get_current_object()
    try:
        check_production(app.config)
    except ConfigError as exc:
        _fail(f"Erreur : {exc}")
    source = _source()
    if source.name != "demo":
        # A wrong address or token ends here, in one line, rather than as a portal that
        # only ever shows "source unavailable". (The demo's outage is a state to show.)
        _check_source(source)
    if app.config["POLLER"] == "embedded":
        poller = Poller(app, observe=alerts.observe_cycle, meter=meter.Recorder())
        socketio.start_background_task(poller.run)
    if app.config["NOTIFY_WORKER"] == "embedded":
        socketio.start_background_task(notify.Worker(app, _channels(app)).run)
    # Flask refuses app.run() under `flask`; this command is meant to serve.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    socketio.run(
        app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False
    )


@vigie.command("poll")
@click.option("--once", is_flag=True, help="Un seul cycle, puis afficher ce qu'il a fait.")
@with_appcontext
def poll(once: bool) -> None:
    """Lire la source en boucle et publier les changements (processus séparé)."""
    from flask import current_app

    app = current_app._get_current_object()
    _source(become_owner(app))  # its settings, checked; a source down is waited for
    publish = batch = None
    if app.config.get("SOCKETIO_MESSAGE_QUEUE"):
        # Write-only: this process only publishes; the web workers relay.
        publisher = QueuePublisher(
            app.config["SOCKETIO_MESSAGE_QUEUE"], app.config.get("SOCKETIO_CHANNEL", "vigie")
        )
        publish, batch = publisher.publish, publisher.batch
    poller = Poller(
        app, publish=publish, batch=batch, observe=alerts.observe_cycle, meter=meter.Recorder()
    )
    if once:
        stats = poller.cycle()
        click.echo(
            f"Cycle : {stats.duration_s * 1000:.1f} ms, {stats.api_calls} appels, "
            f"{stats.members} membres, {'source OK' if stats.ok else 'source en erreur'}"
        )
        click.get_current_context().exit(0 if stats.ok else 1)
    lock = make_lock(app.config, app.instance_path)
    try:
        poller.run(lock=lock)
    except KeyboardInterrupt:
        poller.stop()


def _channels(app) -> dict:
    """The configured channels; a wrong setting ends here in one French line."""
    try:
        return registry.build(app.config)
    except ChannelConfigError as exc:
        _fail(f"Erreur : {exc}")


@vigie.command("notify")
@click.option("--once", is_flag=True, help="Une seule passe, puis afficher ce qu'elle a fait.")
@with_appcontext
def notify_command(once: bool) -> None:
    """Envoyer les alertes : décider, regrouper, livrer la file d'envoi (processus séparé)."""
    from flask import current_app

    app = current_app._get_current_object()
    worker = notify.Worker(app, _channels(app))
    if once:
        stats = notify.run_round(worker.channels)
        click.echo(
            f"Décidés : {stats.decided}, résumés : {stats.digests}, livrés : {stats.delivered}"
        )
        return
    try:
        worker.run()
    except KeyboardInterrupt:
        worker.stop()


@vigie.group("audit")
def audit_group() -> None:
    """Journal d'audit."""


@audit_group.command("purge")
@with_appcontext
def audit_purge() -> None:
    """Supprimer les lignes plus anciennes que VIGIE_AUDIT_RETENTION_DAYS jours."""
    from flask import current_app

    from webapp.services import audit

    days = int(current_app.config["AUDIT_RETENTION_DAYS"])
    if days < 1:
        _fail(f"Erreur : VIGIE_AUDIT_RETENTION_DAYS doit valoir au moins 1 (et non {days}).")
    removed = audit.purge(days)
    click.echo(f"Journal d'audit : {removed} ligne(s) de plus de {days} jours supprimée(s).")


@vigie.command("zabbix-check")
@with_appcontext
def zabbix_check() -> None:
    """Vérifier l'adresse, le jeton, la version, les droits et les groupes Zabbix."""
    from webapp.services.zabbix_check import ERROR
    from webapp.services.zabbix_check import run_checks

    findings = run_checks()
    marks = {"ok": "✓", "warning": "!", "error": "✕"}
    for finding in findings:
        click.echo(f"{marks[finding.level]} {finding.message}")
    click.get_current_context().exit(1 if any(f.level == ERROR for f in findings) else 0)


@vigie.group("push")
def push_group() -> None:
    """Notifications Web Push (clés VAPID du serveur)."""


@push_group.command("keys")
@click.option(
    "--force", is_flag=True, help="Remplacer la clé existante (les appareils devront se réabonner)."
)
@with_appcontext
def push_keys(force: bool) -> None:
    """Créer la clé VAPID du serveur (une fois) et afficher sa clé publique."""
    from flask import current_app

    from webapp.channels.push import PushConfigError
    from webapp.channels.push import check_subject
    from webapp.services import push

    path = push.key_path()
    try:
        public = push.generate_keys(force=force)
    except push.KeyExists:
        public = push.public_key()
        if public is None:
            _fail(f"Erreur : la clé {path} existe mais est illisible (--force pour la remplacer).")
        click.echo(f"Clé VAPID déjà présente ({path}) ; --force pour la remplacer.", err=True)
    else:
        click.echo(f"Clé VAPID créée : {path} (mode 0600).", err=True)
    try:
        check_subject(current_app.config.get("VAPID_SUBJECT"))
    except PushConfigError as exc:
        click.echo(f"Attention : {exc} Les notifications ne partiront pas.", err=True)
    click.echo(public)
