"""The words of the pages, in English and French, and how a request picks its language.

The language comes from ``?lang=en|fr`` first (the language switch), then the ``lang`` cookie that
switch sets, then the browser's ``Accept-Language``; English when nothing matches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

__all__ = [
    "CATALOGUE",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_COOKIE",
    "format_number",
    "format_percent",
    "gettext",
    "pick_language",
    "translator",
]

LANGUAGES: Final = ("en", "fr")
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_COOKIE: Final = "lang"

CATALOGUE: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "app.tagline": "Urban hypervisor",
        "page.description": "Command post of {metropolis}: equipment, communes and their state.",
        "nav.skip": "Skip to content",
        "nav.language": "Language",
        "lang.en": "English",
        "lang.fr": "Français",
        "stats.label": "Key figures",
        "stats.assets": "Equipment",
        "stats.communes": "Communes",
        "stats.population": "Inhabitants",
        "stats.attention": "Need attention",
        "stats.attention_hint": "fault or offline",
        "map.title": "Map of the metropolis",
        "map.kind": "Equipment shown",
        "map.label": "Map of the communes of {metropolis}, shaded by their amount of equipment",
        "map.hint": "Point at a commune, or tab to the map and use the arrow keys, "
        "to see its figures.",
        "map.loading": "Loading…",
        "map.loading_points": "{kind}: loading {loaded} of {total}…",
        "map.points_shown": "{kind}: {count} on the map.",
        "map.points_capped": "{kind}: {count} on the map, out of {total}.",
        "map.no_points": "{kind}: none in the registry yet.",
        "map.error": "The map data could not be loaded. Reload the page to try again.",
        "map.empty": "No communes yet. Run “metropilot demo” to generate a synthetic metropolis, "
        "or import commune boundaries.",
        "map.commune_detail": "{name} ({insee}): equipment {count}, inhabitants {population}.",
        "legend.communes": "Equipment per commune",
        "legend.status": "Status of the dots",
        "legend.status_hint": "untick to hide",
        "panel.by_kind": "Equipment by kind",
        "panel.by_status": "Equipment by status",
        "panel.communes": "Communes",
        "panel.api": "For integrators",
        "panel.status_bar": "Share of each status",
        "table.kind": "Kind",
        "table.status": "Status",
        "table.count": "Count",
        "table.share": "Share",
        "table.total": "Total",
        "table.commune": "Commune",
        "table.insee": "INSEE code",
        "table.population": "Population",
        "table.assets": "Equipment",
        "table.scroll": "Table of the communes (scrolls sideways)",
        "api.intro": "Everything on this page comes from the public, documented HTTP API.",
        "api.docs": "Interactive API documentation",
        "api.openapi": "OpenAPI description (JSON)",
        "api.communes_geojson": "Communes as GeoJSON",
        "api.summary": "Equipment summary (JSON)",
        "footer.licence": "Open-source software (AGPL-3.0). The metropolis owns its data.",
        "footer.version": "Version {version}",
        "empty.registry": "The registry is empty.",
        "map.signin": "Sign in to see the equipment on the map",
        "map.signin_hint": "The communes and the figures are public. The equipment itself is "
        "shown to the people who look after it.",
        "map.no_access": "Your account does not give access to the equipment map.",
        "map.session_ended": "Your session has ended: sign in again to see the equipment.",
        "map.loading_points_scoped": "{kind}: loading, {loaded} so far…",
        "map.points_scoped": "{kind}: {count} on the map, in your area.",
        "map.no_points_scoped": "{kind}: none in your area.",
        "account.label": "Your account",
        "account.sign_in": "Sign in",
        "account.sign_out": "Sign out",
        "account.signed_in_as": "Signed in as",
        "role.admin": "Administrator",
        "role.supervisor": "Supervisor",
        "role.operator": "Operator",
        "role.commune_agent": "Commune agent",
        "role.contractor": "Contractor",
        "role.field_agent": "Field agent",
        "role.citizen": "Citizen",
        "login.title": "Sign in",
        "login.intro": "Sign in with the account your organisation gave you.",
        "login.username": "Username",
        "login.password": "Password",
        "login.code_toggle": "I use an authenticator app",
        "login.code": "Authenticator code",
        "login.code_hint": "The 6-digit code your authenticator app shows now.",
        "login.submit": "Sign in",
        "login.failed": "Wrong username, password or code. Check them and try again.",
        "login.totp_required": "This account is protected by an authenticator app: enter your "
        "password again, with the 6-digit code the app shows now.",
        "login.locked": "Too many failed sign-ins: this account is locked for up to {minutes} "
        "minutes. Try again later, or ask an administrator.",
        "login.rate_limited": "Too many sign-in attempts from this address. Wait {seconds} "
        "seconds, then try again.",
        "login.form_expired": "This sign-in form had expired or did not come from this site. "
        "Please sign in again.",
        "login.public_note": "The figures and the map of the communes are open to everyone, "
        "without an account.",
        "login.back_home": "Back to the home page",
        "error.title": "This did not work",
        "error.csrf_failed": "This page had expired, so nothing was changed. Go back, reload "
        "the page and try again.",
        "error.generic": "The request could not be completed (error {code}).",
        "kind.streetlight": "Street lights",
        "kind.lighting_cabinet": "Lighting cabinets",
        "kind.traffic_junction": "Signalised junctions",
        "kind.camera": "CCTV cameras",
        "kind.building": "Public buildings",
        "kind.bollard": "Retractable bollards",
        "kind.vehicle": "Service vehicles",
        "kind.sensor": "Sensors",
        "status.ok": "OK",
        "status.degraded": "Degraded",
        "status.fault": "Fault",
        "status.offline": "Offline",
        "status.maintenance": "Maintenance",
        "status.decommissioned": "Decommissioned",
    },
    "fr": {
        "app.tagline": "Hyperviseur urbain",
        "page.description": "Poste de pilotage de {metropolis}\u00a0: équipements, communes "
        "et leur état.",
        "nav.skip": "Aller au contenu",
        "nav.language": "Langue",
        # Each language is named in itself, as language switches do.
        "lang.en": "English",
        "lang.fr": "Français",
        "stats.label": "Chiffres clés",
        "stats.assets": "Équipements",
        "stats.communes": "Communes",
        "stats.population": "Habitants",
        "stats.attention": "À traiter",
        "stats.attention_hint": "en panne ou hors ligne",
        "map.title": "Carte de la métropole",
        "map.kind": "Équipements affichés",
        "map.label": "Carte des communes de {metropolis}, teintées selon leur nombre d’équipements",
        "map.hint": "Survolez une commune, ou atteignez la carte au clavier et utilisez "
        "les flèches, pour voir ses chiffres.",
        "map.loading": "Chargement…",
        "map.loading_points": "{kind}\u00a0: chargement, {loaded} sur {total}…",
        "map.points_shown": "{kind}\u00a0: {count} sur la carte.",
        "map.points_capped": "{kind}\u00a0: {count} sur la carte, sur {total} au total.",
        "map.no_points": "{kind}\u00a0: rien dans le registre pour l’instant.",
        "map.error": "Les données de la carte n’ont pas pu être chargées. Rechargez la page "
        "pour réessayer.",
        "map.empty": "Aucune commune pour l’instant. Lancez «\u00a0metropilot demo\u00a0» "
        "pour générer une métropole synthétique, ou importez les limites des communes.",
        "map.commune_detail": "{name} ({insee})\u00a0: équipements {count}, "
        "habitants {population}.",
        "legend.communes": "Équipements par commune",
        "legend.status": "État des points",
        "legend.status_hint": "décochez pour masquer",
        "panel.by_kind": "Équipements par type",
        "panel.by_status": "Équipements par état",
        "panel.communes": "Communes",
        "panel.api": "Pour les intégrateurs",
        "panel.status_bar": "Part de chaque état",
        "table.kind": "Type",
        "table.status": "État",
        "table.count": "Nombre",
        "table.share": "Part",
        "table.total": "Total",
        "table.commune": "Commune",
        "table.insee": "Code INSEE",
        "table.population": "Population",
        "table.assets": "Équipements",
        "table.scroll": "Tableau des communes (défile horizontalement)",
        "api.intro": "Tout ce que montre cette page vient de l’API HTTP publique et documentée.",
        "api.docs": "Documentation interactive de l’API",
        "api.openapi": "Description OpenAPI (JSON)",
        "api.communes_geojson": "Communes en GeoJSON",
        "api.summary": "Synthèse des équipements (JSON)",
        "footer.licence": "Logiciel libre (AGPL-3.0). La métropole est propriétaire "
        "de ses données.",
        "footer.version": "Version {version}",
        "empty.registry": "Le registre est vide.",
        "map.signin": "Connectez-vous pour voir les équipements sur la carte",
        "map.signin_hint": "Les communes et les chiffres sont publics. Les équipements "
        "eux-mêmes sont montrés aux personnes qui en ont la charge.",
        "map.no_access": "Votre compte ne donne pas accès à la carte des équipements.",
        "map.session_ended": "Votre session a pris fin\u00a0: reconnectez-vous pour voir "
        "les équipements.",
        "map.loading_points_scoped": "{kind}\u00a0: chargement, {loaded} pour l’instant…",
        "map.points_scoped": "{kind}\u00a0: {count} sur la carte, dans votre périmètre.",
        "map.no_points_scoped": "{kind}\u00a0: aucun dans votre périmètre.",
        "account.label": "Votre compte",
        "account.sign_in": "Se connecter",
        "account.sign_out": "Se déconnecter",
        "account.signed_in_as": "Connecté en tant que",
        "role.admin": "Administrateur",
        "role.supervisor": "Superviseur",
        "role.operator": "Opérateur",
        "role.commune_agent": "Agent communal",
        "role.contractor": "Prestataire",
        "role.field_agent": "Agent de terrain",
        "role.citizen": "Citoyen",
        "login.title": "Connexion",
        "login.intro": "Connectez-vous avec le compte que votre organisation vous a donné.",
        "login.username": "Identifiant",
        "login.password": "Mot de passe",
        "login.code_toggle": "J’utilise une application d’authentification",
        "login.code": "Code d’authentification",
        "login.code_hint": "Le code à 6 chiffres que votre application affiche en ce moment.",
        "login.submit": "Se connecter",
        "login.failed": "Identifiant, mot de passe ou code erroné. Vérifiez-les et réessayez.",
        "login.totp_required": "Ce compte est protégé par une application d’authentification"
        "\u00a0: saisissez de nouveau votre mot de passe, avec le code à 6 chiffres qu’elle "
        "affiche en ce moment.",
        "login.locked": "Trop d’échecs de connexion\u00a0: ce compte est verrouillé pour "
        "{minutes}\u00a0minutes au plus. Réessayez plus tard ou demandez à un administrateur.",
        "login.rate_limited": "Trop de tentatives de connexion depuis cette adresse. Attendez "
        "{seconds}\u00a0secondes, puis réessayez.",
        "login.form_expired": "Ce formulaire de connexion avait expiré ou ne venait pas de ce "
        "site. Connectez-vous de nouveau.",
        "login.public_note": "Les chiffres et la carte des communes sont ouverts à tous, sans "
        "compte.",
        "login.back_home": "Retour à l’accueil",
        "error.title": "Cela n’a pas fonctionné",
        "error.csrf_failed": "Cette page avait expiré\u00a0: rien n’a été modifié. Revenez en "
        "arrière, rechargez la page et réessayez.",
        "error.generic": "La demande n’a pas pu aboutir (erreur {code}).",
        "kind.streetlight": "Points lumineux",
        "kind.lighting_cabinet": "Armoires d’éclairage",
        "kind.traffic_junction": "Carrefours à feux",
        "kind.camera": "Caméras de vidéoprotection",
        "kind.building": "Bâtiments publics",
        "kind.bollard": "Bornes escamotables",
        "kind.vehicle": "Véhicules de service",
        "kind.sensor": "Capteurs",
        "status.ok": "En service",
        "status.degraded": "Dégradé",
        "status.fault": "En panne",
        "status.offline": "Hors ligne",
        "status.maintenance": "En maintenance",
        "status.decommissioned": "Retiré du service",
    },
}


def _language_of(value: str | None) -> str | None:
    """``fr``, ``FR``, ``fr-CA`` → ``fr``; anything unsupported → None."""
    if not value:
        return None
    primary = value.strip().split("-")[0].split("_")[0].lower()
    return primary if primary in LANGUAGES else None


def _from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (RFC 9110 quality values)."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header.split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = _language_of(tag)
        if language is None or quality <= 0:
            continue
        # Highest quality wins; between equal qualities, the first listed.
        candidate = (quality, -position, language)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def pick_language(
    query: str | None = None, cookie: str | None = None, accept_language: str | None = None
) -> str:
    """``?lang=`` first, then the cookie, then ``Accept-Language``, then English."""
    return (
        _language_of(query)
        or _language_of(cookie)
        or _from_accept_language(accept_language)
        or DEFAULT_LANGUAGE
    )


def gettext(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in ``lang`` (English if missing there), with ``{name}`` filled in."""
    messages = CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE])
    template = messages.get(key) or CATALOGUE[DEFAULT_LANGUAGE].get(key) or key
    return template.format(**values) if values else template


def translator(lang: str) -> Callable[..., str]:
    def translate(key: str, **values: object) -> str:
        return gettext(lang, key, **values)

    return translate


def format_number(value: float, lang: str) -> str:
    """Group thousands the way each language does: 34,000 in English, 34 000 in French."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if lang == "fr":
        # Narrow no-break space between groups and a decimal comma, as the browsers' Intl does.
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def format_percent(value: float, lang: str) -> str:
    """87.4% in English; 87,4 % in French, with a no-break space before the sign."""
    number = f"{value:,.1f}"
    if lang == "fr":
        number = number.replace(",", "\u202f").replace(".", ",")
    return f"{number}\u00a0%" if lang == "fr" else f"{number}%"
