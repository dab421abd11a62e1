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
        # The citizens' report pages (web.report_pages) and static/report.js (rmap.*).
        "report.title": "Report a problem",
        "report.intro": "A broken street light, a pothole, fly-tipping? Tell the metropolis where "
        "and what: it takes a minute, and you can follow what happens next.",
        "report.where": "Where is it?",
        "report.map_label": "Map of {metropolis}: tap or click where the problem is",
        "report.map_hint": "Tap the map where the problem is, or use your location. Zoom in to "
        "place it precisely; with the keyboard, the arrow keys move the marker.",
        "report.use_location": "Use my location",
        "report.coordinates": "Coordinates",
        "report.coordinates_hint": "Filled in by the map. Without it, type them (decimal degrees, "
        "e.g. 47.3220 and 5.0415).",
        "report.lat": "Latitude",
        "report.lon": "Longitude",
        "report.address": "Address or landmark (optional)",
        "report.address_hint": "A street and house number, or something close by.",
        "report.what": "What is the problem?",
        "report.category": "Category",
        "report.choose": "Choose…",
        "report.questions": "A few questions",
        "report.questions_hint": "Answer the questions of the category you chose; the others are "
        "ignored.",
        "report.questions_for": "If you chose “{category}”",
        "report.no_answer": "No answer",
        "report.description": "Description (optional)",
        "report.description_hint": "What you see, since when, anything that helps. At most {max} "
        "characters. Do not write anyone's name or personal details here.",
        "report.photos": "Photos (optional)",
        "report.photos_hint": "Up to {max} photos (JPEG, PNG, WebP or HEIC). Their location and "
        "camera data are removed before they are kept.",
        "report.about_you": "About you (optional)",
        "report.about_you_hint": "You can send a report without giving your name or address.",
        "report.name": "Your name",
        "report.email": "Your e-mail address",
        "report.email_hint": "Only used to tell you how your report progresses. Never shown "
        "publicly, and erased some time after the report is closed.",
        "report.submit": "Send the report",
        "report.see_map": "See the open reports on the map",
        "report.errors_title": "The report was not sent:",
        "report.error.form_expired": "This form had expired or did not come from this site, so "
        "nothing was sent. Check your answers and send again.",
        "report.error.category": "Choose what you are reporting.",
        "report.error.location": "Say where the problem is: tap the map, use your location, or "
        "type its latitude and longitude.",
        "report.error.outside": "This place is outside {metropolis}: only problems within its "
        "communes can be reported here. Check the point on the map.",
        "report.error.description_too_long": "The description is too long: at most {max} "
        "characters.",
        "report.error.description_too_long_count": "The description has {count} characters: at "
        "most {max} are accepted.",
        "report.error.attribute_required": "Please answer: “{question}”.",
        "report.error.attribute_invalid": "The answer to “{question}” is not valid.",
        "report.error.number": "The answer to “{question}” must be a number.",
        "report.error.date": "The answer to “{question}” must be a date.",
        "report.error.email": "The e-mail address does not look right. Check it, or leave it "
        "empty.",
        "report.error.too_many_photos": "At most {max} photos per report.",
        "report.error.photo_too_large": "A photo is too large: at most {mb} MB each.",
        "report.error.photo_format": "A file is not a photo that can be accepted: send JPEG, PNG, "
        "WebP or HEIC photos.",
        "report.error.photo_pixels": "A photo has too many pixels: send a smaller one.",
        "report.error.photo_unreadable": "A photo could not be read: the file is damaged or "
        "incomplete.",
        "report.error.photos_again": "For your safety, the photos are not kept by a form that "
        "comes back: choose them again.",
        "report.error.rate_limited": "Many reports were sent from this connection in a short time. "
        "Please wait {minutes} minutes, then send again.",
        "report.error.other": "The report could not be accepted: {detail}",
        "report.track.title": "Report {number}",
        "report.track.sent": "Thank you: your report was received.",
        "report.track.keep": "Keep the address of this page (bookmark it): it lets you follow your "
        "report without an account. Do not share it: it shows your description and photos.",
        "report.track.state": "State",
        "report.track.category": "Category",
        "report.track.commune": "Commune",
        "report.track.address": "Address",
        "report.track.requested": "Sent",
        "report.track.updated": "Last change",
        "report.track.expected": "Expected by",
        "report.track.supporters": "Others who reported it too",
        "report.track.notes": "Latest news",
        "report.track.timeline": "What happened",
        "report.track.description": "Your description",
        "report.track.answers": "Your answers",
        "report.track.photos": "Your photos",
        "report.track.photo_alt": "Photo {number} of the report",
        "report.track.merged": "This report was merged with report {number}, which follows up the "
        "same problem.",
        "report.track.unknown": "No report matches this address. Check that it was copied whole.",
        "report.track.new": "Report another problem",
        "report.track.open": "open",
        "report.track.closed": "closed",
        "report.supported.title": "Already reported: thank you for your support",
        "report.supported.text": "This problem was already reported close by (report {number}). "
        "Rather than open a second report, yours was added to it as support: it shows the team "
        "how many people it concerns.",
        "report.supported.email": "You will receive an e-mail each time it progresses.",
        "report.supported.no_email": "Give an e-mail address next time to hear of its progress.",
        "report.supported.photos": "Your photos were not added: the existing report has its own.",
        "report.state.new": "Received",
        "report.state.triaged": "Taken in charge",
        "report.state.in_progress": "In progress",
        "report.state.action_scheduled": "Work scheduled",
        "report.state.reopened": "Reopened",
        "report.state.fixed": "Fixed",
        "report.state.duplicate": "Already reported",
        "report.state.not_our_responsibility": "Passed on to the body in charge",
        "report.state.no_further_action": "Closed without action",
        "report.state.cancelled": "Cancelled",
        "report.note.new": "Report received.",
        "report.note.triaged": "Report checked and passed to the team in charge.",
        "report.note.in_progress": "Work in progress.",
        "report.note.action_scheduled": "Work scheduled.",
        "report.note.reopened": "Report reopened.",
        "report.note.fixed": "Fixed.",
        "report.note.duplicate": "Already reported: merged with an earlier report.",
        "report.note.not_our_responsibility": "Not the metropolis's responsibility: passed on.",
        "report.note.no_further_action": "Looked at: no further action needed.",
        "report.note.cancelled": "Cancelled.",
        "report.group.lighting": "Lighting",
        "report.group.traffic_signals": "Traffic signals",
        "report.group.roads_and_pavements": "Roads and pavements",
        "report.group.cleanliness": "Cleanliness",
        "report.group.green_spaces": "Green spaces",
        "report.group.street_furniture": "Street furniture",
        "report.group.vehicles_and_parking": "Vehicles and parking",
        "report.group.water_and_drainage": "Water and drainage",
        "rmap.loading": "Loading the map…",
        "rmap.error": "The map could not be loaded: type the coordinates instead, or reload the "
        "page.",
        "rmap.placed": "Marker placed at {lat}, {lon}.",
        "rmap.outside": "This point is outside {metropolis}: choose a place within its communes.",
        "rmap.locating": "Finding your location…",
        "rmap.located": "Your location was placed on the map (to about {accuracy} m). Move the "
        "marker if needed.",
        "rmap.geo_denied": "Your location could not be read (permission refused). Tap the map "
        "instead.",
        "rmap.geo_unavailable": "Your location is not available. Tap the map instead.",
        "rmap.zoom_in": "Zoom in",
        "rmap.zoom_out": "Zoom out",
        "rmap.reset": "Whole metropolis",
        "rmap.count": "{count} open reports on the map.",
        "rmap.none": "No open report at the moment.",
        "rmap.point": "Report {number}: {category}, {state}, sent {date}, {commune}.",
        "rmap.chars": "{count} / {max} characters",
        "rmap.too_many_photos": "At most {max} photos: only the first {max} will be sent.",
        "rmap.preparing": "Preparing the photos…",
        "rmap.map_hint": "Tap a dot, or tab to the map and use the arrow keys, to see a report.",
        "rmap.nearby": "Dots: reports already open. If yours is one of them, send it anyway: it "
        "will be counted as support.",
        "reports_map.title": "Open reports",
        "reports_map.intro": "The problems citizens reported that are being dealt with. Only the "
        "category, the state, the date and the commune are shown.",
        "reports_map.label": "Map of {metropolis} with the open reports",
        "reports_map.by_category": "By category",
        "reports_map.by_state": "By state",
        "reports_map.latest": "Latest reports",
        "reports_map.number": "No.",
        "reports_map.category": "Category",
        "reports_map.state": "State",
        "reports_map.date": "Sent",
        "reports_map.commune": "Commune",
        "reports_map.count": "Reports",
        "reports_map.total": "{count} open reports",
        "reports_map.empty": "No open report at the moment.",
        "reports_map.new": "Report a problem",
        "reports_map.json": "The same data as JSON",
        "orders.title": "My work orders",
        "orders.intro": "The live work orders of {organisation}, newest first.",
        "orders.intro_all": "Every live work order of the metropolis, newest first.",
        "orders.empty": "No live work order at the moment.",
        "orders.total": "{count} live work orders",
        "orders.forbidden": "This page is for contractors and field agents: this account "
        "has no work orders.",
        "orders.map_label": "Map of {metropolis} with the places of the work orders",
        "orders.map_hint": "Tap a dot to see its order.",
        "orders.number": "Order {id}",
        "orders.case": "case {id}",
        "orders.priority": "Priority",
        "orders.commune": "Commune",
        "orders.place": "Place",
        "orders.no_place": "no place known",
        "orders.instructions": "Instructions",
        "orders.dispatched": "Dispatched",
        "orders.response_due": "Accept by",
        "orders.resolution_due": "Finish by",
        "orders.late": "late",
        "orders.note": "Note",
        "orders.reason": "Reason",
        "orders.photos": "Photos",
        "orders.state.created": "Created",
        "orders.state.dispatched": "To accept",
        "orders.state.accepted": "Accepted",
        "orders.state.en_route": "En route",
        "orders.state.on_site": "On site",
        "orders.state.done": "Done, awaiting check",
        "orders.state.reopened": "Rejected at check: back to work",
        "orders.action.accept": "Accept",
        "orders.action.refuse": "Refuse",
        "orders.action.en_route": "En route",
        "orders.action.on_site": "On site",
        "orders.action.done": "Work done",
        "orders.action.photos": "Send the photos",
        "orders.done_note": "What was done (required)",
        "orders.photo_input": "Photos of the work (optional, up to 5)",
        "orders.refuse_prompt": "Why do you refuse this order?",
        "orders.note_required": "Write what was done first.",
        "orders.no_photo": "Choose a photo first.",
        "orders.working": "Sending…",
        "orders.failed": "This did not work: {message}",
        "orders.reload": "Refresh the list",
        # The performance contract's reports and the public transparency pages.
        "contract.report.title": "Performance report",
        "contract.report.heading": "{lot}, {period}",
        "contract.report.intro": "Key indicators, on-time rates, penalties{energy} of the {lot} "
        "lot for {period}, computed from the recorded facts.",
        "contract.report.intro_energy": " and lighting energy",
        "contract.report.facts": "About this report",
        "contract.contract": "Contract",
        "contract.parties": "Parties",
        "contract.contractor": "Contractor",
        "contract.period": "Period",
        "contract.from_to": "{start} to {end}",
        "contract.as_of": "Computed on",
        "contract.frozen": "Frozen on {when} by {who}: these figures no longer change.",
        "contract.not_frozen": "Not frozen yet: the figures may still change as facts arrive.",
        "contract.downloads": "Download",
        "contract.download_csv": "CSV table",
        "contract.download_pdf": "PDF document",
        "contract.choose": "Another report",
        "contract.choose_lot": "Lot",
        "contract.choose_period": "Period (2026, 2026-03 or 2026-Q2)",
        "contract.choose_submit": "Show",
        "contract.previous": "Previous period",
        "contract.next": "Next period",
        "contract.lot.lighting": "Public lighting",
        "contract.lot.traffic-signals": "Traffic signals",
        "contract.lot.video": "Video protection",
        "contract.lot.buildings": "Buildings",
        "contract.lot.it": "Command-centre IT",
        "contract.kpis": "Key performance indicators",
        "contract.kpi": "Indicator",
        "contract.measured": "Measured",
        "contract.target": "Target",
        "contract.status": "Status",
        "contract.direction.higher-is-better": "higher is better",
        "contract.direction.lower-is-better": "lower is better",
        "contract.status.met": "Met",
        "contract.status.missed": "Missed",
        "contract.status.unmeasured": "Not measured",
        "contract.mttr": "Mean time to repair",
        "contract.rates": "On-time rates",
        "contract.rates_priority": "By priority",
        "contract.rates_commune": "By commune",
        "contract.priority": "Priority",
        "contract.commune": "Commune",
        "contract.response": "Response",
        "contract.resolution": "Resolution",
        "contract.rate_detail": "{on_time} on time, {late} late, {pending} pending",
        "contract.no_rates": "No work order had a deadline in this period.",
        "contract.penalties": "Penalties",
        "contract.items": "Contributing items",
        "contract.rule": "Rule",
        "contract.kind": "Kind",
        "contract.kind.delay": "Delay",
        "contract.kind.shortfall": "Shortfall",
        "contract.detail": "Detail",
        "contract.amount": "Amount",
        "contract.rules": "Rules and caps",
        "contract.gross": "Gross",
        "contract.cap": "Cap",
        "contract.capped": "After cap",
        "contract.no_cap": "none",
        "contract.lot_cap": "Cap of the lot",
        "contract.total": "Penalties after caps",
        "contract.bonuses": "Bonuses",
        "contract.bonus_total": "Bonuses",
        "contract.net": "Net amount",
        "contract.no_items": "No penalty in this period.",
        "contract.missing_kpis": "Indicators with no measured value (never guessed): {codes}.",
        "contract.order": "order {id}",
        "contract.case": "case {id}",
        "contract.hours_late": "{hours} h late",
        "contract.points": "{points} points short",
        "contract.energy": "Lighting energy",
        "contract.energy_source.modelled": "Modelled from the lamps and their dimming programs.",
        "contract.energy_source.measured": "Measured by the lamps.",
        "contract.energy_source.mixed": "Partly measured by the lamps, partly modelled.",
        "contract.lamps": "Lamps",
        "contract.lamps_detail": "{measured} measured, {modelled} modelled",
        "contract.baseline": "Baseline (before LED)",
        "contract.current": "Current",
        "contract.saving": "Saving",
        "contract.saving_target": "target {target}",
        "contract.cost": "Cost",
        "contract.co2": "CO₂",
        "contract.month": "Month",
        "contract.energy_table": "Energy by month (kWh)",
        "contract.chart_table": "The figures of the chart",
        "contract.table_scroll": "Table (scrolls sideways)",
        "contract.error.forbidden": "Performance reports are for the command post, the contract "
        "managers and the contractor holding the lot.",
        "contract.error.not_found": "Nothing here: {message}",
        "contract.error.invalid": "This request is not valid: {message}",
        "transparency.title": "Contract transparency",
        "transparency.heading_metropolis": "{metropolis}: performance of the contract in {period}",
        "transparency.heading_commune": "{commune}: performance of the contract in {period}",
        "transparency.intro": "What the consortium maintaining the public space delivered, "
        "computed from recorded facts: indicators against their targets and the energy of "
        "public lighting. No personal data is published here.",
        "transparency.no_contract": "No performance contract is loaded yet: there is nothing to "
        "publish.",
        "transparency.generated": "Computed on {when}.",
        "transparency.years": "Year",
        "transparency.previous_year": "Previous year ({year})",
        "transparency.next_year": "Next year ({year})",
        "transparency.lots": "Indicators by lot",
        "transparency.no_lots": "No indicator for this period.",
        "transparency.energy": "Energy of public lighting",
        "transparency.no_energy": "No lighting energy figures for this period.",
        "transparency.penalties": "Penalties applied over the period",
        "transparency.penalties_total": "Total after caps: {amount}",
        "transparency.open_data": "Open data",
        "transparency.open_data_intro": "The same figures, free to reuse, at stable addresses:",
        "transparency.json": "JSON",
        "transparency.csv": "CSV",
        "transparency.communes": "Communes",
        "transparency.metropolis": "Whole metropolis",
        "transparency.contract": "Contract {code}, {start} to {end}",
        "transparency.contractor": "Held by {name}",
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
        # The citizens' report pages (web.report_pages) and static/report.js (rmap.*).
        "report.title": "Signaler un problème",
        "report.intro": "Un lampadaire en panne, un nid-de-poule, un dépôt sauvage\u00a0? Dites à "
        "la métropole où et quoi\u00a0: cela prend une minute, et vous pourrez suivre la suite.",
        "report.where": "Où est-ce\u00a0?",
        "report.map_label": "Carte de {metropolis}\u00a0: touchez ou cliquez à l’endroit du "
        "problème",
        "report.map_hint": "Touchez la carte à l’endroit du problème, ou utilisez votre position. "
        "Zoomez pour le placer précisément\u00a0; au clavier, les flèches déplacent le repère.",
        "report.use_location": "Utiliser ma position",
        "report.coordinates": "Coordonnées",
        "report.coordinates_hint": "Remplies par la carte. Sans elle, saisissez-les (degrés "
        "décimaux, par exemple 47,3220 et 5,0415).",
        "report.lat": "Latitude",
        "report.lon": "Longitude",
        "report.address": "Adresse ou repère (facultatif)",
        "report.address_hint": "Une rue et un numéro, ou quelque chose de proche.",
        "report.what": "Quel est le problème\u00a0?",
        "report.category": "Catégorie",
        "report.choose": "Choisir…",
        "report.questions": "Quelques questions",
        "report.questions_hint": "Répondez aux questions de la catégorie choisie\u00a0; les autres "
        "sont ignorées.",
        "report.questions_for": "Si vous avez choisi «\u00a0{category}\u00a0»",
        "report.no_answer": "Pas de réponse",
        "report.description": "Description (facultative)",
        "report.description_hint": "Ce que vous voyez, depuis quand, tout ce qui aide. {max} "
        "caractères au plus. N’écrivez ici ni le nom ni les coordonnées de personne.",
        "report.photos": "Photos (facultatives)",
        "report.photos_hint": "Jusqu’à {max} photos (JPEG, PNG, WebP ou HEIC). Leur position et "
        "les données de l’appareil sont retirées avant d’être conservées.",
        "report.about_you": "Vous (facultatif)",
        "report.about_you_hint": "Vous pouvez signaler sans donner votre nom ni votre adresse.",
        "report.name": "Votre nom",
        "report.email": "Votre adresse e-mail",
        "report.email_hint": "Utilisée seulement pour vous informer de l’avancement de votre "
        "signalement. Jamais affichée publiquement, et effacée quelque temps après la clôture.",
        "report.submit": "Envoyer le signalement",
        "report.see_map": "Voir les signalements en cours sur la carte",
        "report.errors_title": "Le signalement n’a pas été envoyé\u00a0:",
        "report.error.form_expired": "Ce formulaire avait expiré ou ne venait pas de ce "
        "site\u00a0: rien n’a été envoyé. Vérifiez vos réponses et envoyez de nouveau.",
        "report.error.category": "Choisissez ce que vous signalez.",
        "report.error.location": "Indiquez où se trouve le problème\u00a0: touchez la carte, "
        "utilisez votre position ou saisissez sa latitude et sa longitude.",
        "report.error.outside": "Cet endroit est hors de {metropolis}\u00a0: seuls les problèmes "
        "situés dans ses communes peuvent être signalés ici. Vérifiez le point sur la carte.",
        "report.error.description_too_long": "La description est trop longue\u00a0: {max} "
        "caractères au plus.",
        "report.error.description_too_long_count": "La description compte {count} "
        "caractères\u00a0: {max} au plus sont acceptés.",
        "report.error.attribute_required": "Merci de répondre\u00a0: «\u00a0{question}\u00a0».",
        "report.error.attribute_invalid": "La réponse à «\u00a0{question}\u00a0» n’est pas valide.",
        "report.error.number": "La réponse à «\u00a0{question}\u00a0» doit être un nombre.",
        "report.error.date": "La réponse à «\u00a0{question}\u00a0» doit être une date.",
        "report.error.email": "L’adresse e-mail ne semble pas correcte. Vérifiez-la, ou laissez-la "
        "vide.",
        "report.error.too_many_photos": "{max} photos au plus par signalement.",
        "report.error.photo_too_large": "Une photo est trop lourde\u00a0: {mb}\u00a0Mo au plus "
        "chacune.",
        "report.error.photo_format": "Un fichier n’est pas une photo acceptée\u00a0: envoyez des "
        "photos JPEG, PNG, WebP ou HEIC.",
        "report.error.photo_pixels": "Une photo a trop de pixels\u00a0: envoyez-en une plus "
        "petite.",
        "report.error.photo_unreadable": "Une photo n’a pas pu être lue\u00a0: le fichier est "
        "abîmé ou incomplet.",
        "report.error.photos_again": "Par sécurité, un formulaire renvoyé ne garde pas les "
        "photos\u00a0: choisissez-les de nouveau.",
        "report.error.rate_limited": "Beaucoup de signalements ont été envoyés depuis cette "
        "connexion en peu de temps. Attendez {minutes}\u00a0minutes, puis envoyez de nouveau.",
        "report.error.other": "Le signalement n’a pas pu être accepté\u00a0: {detail}",
        "report.track.title": "Signalement n°\u00a0{number}",
        "report.track.sent": "Merci\u00a0: votre signalement a bien été reçu.",
        "report.track.keep": "Gardez l’adresse de cette page (ajoutez-la à vos favoris)\u00a0: "
        "elle permet de suivre votre signalement sans compte. Ne la partagez pas\u00a0: elle "
        "montre votre description et vos photos.",
        "report.track.state": "État",
        "report.track.category": "Catégorie",
        "report.track.commune": "Commune",
        "report.track.address": "Adresse",
        "report.track.requested": "Envoyé le",
        "report.track.updated": "Dernier changement",
        "report.track.expected": "Prévu pour le",
        "report.track.supporters": "Autres personnes l’ayant signalé",
        "report.track.notes": "Dernières nouvelles",
        "report.track.timeline": "Ce qui s’est passé",
        "report.track.description": "Votre description",
        "report.track.answers": "Vos réponses",
        "report.track.photos": "Vos photos",
        "report.track.photo_alt": "Photo {number} du signalement",
        "report.track.merged": "Ce signalement a été regroupé avec le signalement "
        "n°\u00a0{number}, qui suit le même problème.",
        "report.track.unknown": "Aucun signalement ne correspond à cette adresse. Vérifiez qu’elle "
        "a été copiée en entier.",
        "report.track.new": "Signaler un autre problème",
        "report.track.open": "en cours",
        "report.track.closed": "clos",
        "report.supported.title": "Déjà signalé\u00a0: merci de votre soutien",
        "report.supported.text": "Ce problème a déjà été signalé tout près (signalement "
        "n°\u00a0{number}). Plutôt que d’ouvrir un second signalement, le vôtre y a été ajouté en "
        "soutien\u00a0: l’équipe voit ainsi combien de personnes sont concernées.",
        "report.supported.email": "Vous recevrez un e-mail à chaque avancée.",
        "report.supported.no_email": "Donnez une adresse e-mail la prochaine fois pour être "
        "informé de l’avancement.",
        "report.supported.photos": "Vos photos n’ont pas été ajoutées\u00a0: le signalement "
        "existant a les siennes.",
        "report.state.new": "Reçu",
        "report.state.triaged": "Pris en charge",
        "report.state.in_progress": "En cours de traitement",
        "report.state.action_scheduled": "Intervention programmée",
        "report.state.reopened": "Rouvert",
        "report.state.fixed": "Résolu",
        "report.state.duplicate": "Déjà signalé",
        "report.state.not_our_responsibility": "Transmis à l’organisme compétent",
        "report.state.no_further_action": "Clos sans suite",
        "report.state.cancelled": "Annulé",
        "report.note.new": "Signalement reçu.",
        "report.note.triaged": "Signalement vérifié et transmis à l’équipe compétente.",
        "report.note.in_progress": "Travaux en cours.",
        "report.note.action_scheduled": "Intervention programmée.",
        "report.note.reopened": "Signalement rouvert.",
        "report.note.fixed": "Résolu.",
        "report.note.duplicate": "Déjà signalé\u00a0: regroupé avec un signalement antérieur.",
        "report.note.not_our_responsibility": "Ne relève pas de la métropole\u00a0: transmis.",
        "report.note.no_further_action": "Examiné\u00a0: aucune suite nécessaire.",
        "report.note.cancelled": "Annulé.",
        "report.group.lighting": "Éclairage",
        "report.group.traffic_signals": "Signalisation",
        "report.group.roads_and_pavements": "Voirie et trottoirs",
        "report.group.cleanliness": "Propreté",
        "report.group.green_spaces": "Espaces verts",
        "report.group.street_furniture": "Mobilier urbain",
        "report.group.vehicles_and_parking": "Véhicules et stationnement",
        "report.group.water_and_drainage": "Eau et assainissement",
        "rmap.loading": "Chargement de la carte…",
        "rmap.error": "La carte n’a pas pu être chargée\u00a0: saisissez plutôt les coordonnées, "
        "ou rechargez la page.",
        "rmap.placed": "Repère placé en {lat}, {lon}.",
        "rmap.outside": "Ce point est hors de {metropolis}\u00a0: choisissez un endroit dans ses "
        "communes.",
        "rmap.locating": "Recherche de votre position…",
        "rmap.located": "Votre position a été placée sur la carte (à {accuracy}\u00a0m près). "
        "Déplacez le repère si besoin.",
        "rmap.geo_denied": "Votre position n’a pas pu être lue (autorisation refusée). Touchez "
        "plutôt la carte.",
        "rmap.geo_unavailable": "Votre position n’est pas disponible. Touchez plutôt la carte.",
        "rmap.zoom_in": "Zoomer",
        "rmap.zoom_out": "Dézoomer",
        "rmap.reset": "Toute la métropole",
        "rmap.count": "{count} signalements en cours sur la carte.",
        "rmap.none": "Aucun signalement en cours pour l’instant.",
        "rmap.point": "Signalement n°\u00a0{number}\u00a0: {category}, {state}, envoyé le {date}, "
        "{commune}.",
        "rmap.chars": "{count} / {max} caractères",
        "rmap.too_many_photos": "{max} photos au plus\u00a0: seules les {max} premières seront "
        "envoyées.",
        "rmap.preparing": "Préparation des photos…",
        "rmap.map_hint": "Touchez un point, ou atteignez la carte au clavier et utilisez les "
        "flèches, pour voir un signalement.",
        "rmap.nearby": "Points\u00a0: signalements déjà en cours. Si le vôtre en fait partie, "
        "envoyez-le quand même\u00a0: il comptera comme soutien.",
        "reports_map.title": "Signalements en cours",
        "reports_map.intro": "Les problèmes signalés par les habitants et en cours de traitement. "
        "Seuls la catégorie, l’état, la date et la commune sont montrés.",
        "reports_map.label": "Carte de {metropolis} avec les signalements en cours",
        "reports_map.by_category": "Par catégorie",
        "reports_map.by_state": "Par état",
        "reports_map.latest": "Derniers signalements",
        "reports_map.number": "N°",
        "reports_map.category": "Catégorie",
        "reports_map.state": "État",
        "reports_map.date": "Envoyé le",
        "reports_map.commune": "Commune",
        "reports_map.count": "Signalements",
        "reports_map.total": "{count} signalements en cours",
        "reports_map.empty": "Aucun signalement en cours pour l’instant.",
        "reports_map.new": "Signaler un problème",
        "reports_map.json": "Les mêmes données en JSON",
        "orders.title": "Mes bons de travaux",
        "orders.intro": "Les bons de travaux en cours de {organisation}, les plus récents d’abord.",
        "orders.intro_all": "Tous les bons de travaux en cours de la métropole, les plus "
        "récents d’abord.",
        "orders.empty": "Aucun bon de travaux en cours pour l’instant.",
        "orders.total": "{count} bons de travaux en cours",
        "orders.forbidden": "Cette page est destinée aux prestataires et aux agents de "
        "terrain\u00a0: ce compte n’a pas de bons de travaux.",
        "orders.map_label": "Carte de {metropolis} avec les lieux des bons de travaux",
        "orders.map_hint": "Touchez un point pour voir son bon.",
        "orders.number": "Bon {id}",
        "orders.case": "dossier {id}",
        "orders.priority": "Priorité",
        "orders.commune": "Commune",
        "orders.place": "Lieu",
        "orders.no_place": "lieu inconnu",
        "orders.instructions": "Consignes",
        "orders.dispatched": "Envoyé",
        "orders.response_due": "À accepter avant",
        "orders.resolution_due": "À terminer avant",
        "orders.late": "en retard",
        "orders.note": "Note",
        "orders.reason": "Motif",
        "orders.photos": "Photos",
        "orders.state.created": "Créé",
        "orders.state.dispatched": "À accepter",
        "orders.state.accepted": "Accepté",
        "orders.state.en_route": "En route",
        "orders.state.on_site": "Sur place",
        "orders.state.done": "Terminé, à vérifier",
        "orders.state.reopened": "Refusé à la vérification\u00a0: à reprendre",
        "orders.action.accept": "Accepter",
        "orders.action.refuse": "Refuser",
        "orders.action.en_route": "En route",
        "orders.action.on_site": "Sur place",
        "orders.action.done": "Travaux terminés",
        "orders.action.photos": "Envoyer les photos",
        "orders.done_note": "Ce qui a été fait (obligatoire)",
        "orders.photo_input": "Photos des travaux (facultatif, 5 au plus)",
        "orders.refuse_prompt": "Pourquoi refusez-vous ce bon\u00a0?",
        "orders.note_required": "Écrivez d’abord ce qui a été fait.",
        "orders.no_photo": "Choisissez d’abord une photo.",
        "orders.working": "Envoi…",
        "orders.failed": "Cela n’a pas fonctionné\u00a0: {message}",
        "orders.reload": "Actualiser la liste",
        # The performance contract's reports and the public transparency pages.
        "contract.report.title": "Rapport de performance",
        "contract.report.heading": "{lot}, {period}",
        "contract.report.intro": "Indicateurs, respect des délais, pénalités{energy} du lot "
        "{lot} pour {period}, calculés à partir des faits enregistrés.",
        "contract.report.intro_energy": " et énergie de l’éclairage",
        "contract.report.facts": "À propos de ce rapport",
        "contract.contract": "Marché",
        "contract.parties": "Parties",
        "contract.contractor": "Titulaire",
        "contract.period": "Période",
        "contract.from_to": "du {start} au {end}",
        "contract.as_of": "Calculé le",
        "contract.frozen": "Figé le {when} par {who}\u00a0: ces chiffres ne changent plus.",
        "contract.not_frozen": "Pas encore figé\u00a0: les chiffres peuvent encore évoluer avec "
        "les faits.",
        "contract.downloads": "Télécharger",
        "contract.download_csv": "Tableau CSV",
        "contract.download_pdf": "Document PDF",
        "contract.choose": "Un autre rapport",
        "contract.choose_lot": "Lot",
        "contract.choose_period": "Période (2026, 2026-03 ou 2026-Q2)",
        "contract.choose_submit": "Afficher",
        "contract.previous": "Période précédente",
        "contract.next": "Période suivante",
        "contract.lot.lighting": "Éclairage public",
        "contract.lot.traffic-signals": "Signalisation lumineuse",
        "contract.lot.video": "Vidéoprotection",
        "contract.lot.buildings": "Bâtiments",
        "contract.lot.it": "Informatique du centre de supervision",
        "contract.kpis": "Indicateurs de performance",
        "contract.kpi": "Indicateur",
        "contract.measured": "Mesuré",
        "contract.target": "Objectif",
        "contract.status": "État",
        "contract.direction.higher-is-better": "plus haut est meilleur",
        "contract.direction.lower-is-better": "plus bas est meilleur",
        "contract.status.met": "Atteint",
        "contract.status.missed": "Manqué",
        "contract.status.unmeasured": "Non mesuré",
        "contract.mttr": "Délai moyen de réparation",
        "contract.rates": "Respect des délais",
        "contract.rates_priority": "Par priorité",
        "contract.rates_commune": "Par commune",
        "contract.priority": "Priorité",
        "contract.commune": "Commune",
        "contract.response": "Prise en charge",
        "contract.resolution": "Résolution",
        "contract.rate_detail": "{on_time} à l’heure, {late} en retard, {pending} en cours",
        "contract.no_rates": "Aucun bon de travaux n’avait d’échéance sur cette période.",
        "contract.penalties": "Pénalités",
        "contract.items": "Éléments contributifs",
        "contract.rule": "Règle",
        "contract.kind": "Nature",
        "contract.kind.delay": "Retard",
        "contract.kind.shortfall": "Écart d’objectif",
        "contract.detail": "Détail",
        "contract.amount": "Montant",
        "contract.rules": "Règles et plafonds",
        "contract.gross": "Brut",
        "contract.cap": "Plafond",
        "contract.capped": "Après plafond",
        "contract.no_cap": "aucun",
        "contract.lot_cap": "Plafond du lot",
        "contract.total": "Pénalités après plafonds",
        "contract.bonuses": "Bonus",
        "contract.bonus_total": "Bonus",
        "contract.net": "Montant net",
        "contract.no_items": "Aucune pénalité sur cette période.",
        "contract.missing_kpis": "Indicateurs sans valeur mesurée (jamais estimée)\u00a0: {codes}.",
        "contract.order": "bon {id}",
        "contract.case": "dossier {id}",
        "contract.hours_late": "{hours} h de retard",
        "contract.points": "{points} points sous l’objectif",
        "contract.energy": "Énergie de l’éclairage",
        "contract.energy_source.modelled": "Modélisée à partir des points lumineux et de leurs "
        "programmes d’abaissement.",
        "contract.energy_source.measured": "Mesurée par les points lumineux.",
        "contract.energy_source.mixed": "En partie mesurée par les points lumineux, en partie "
        "modélisée.",
        "contract.lamps": "Points lumineux",
        "contract.lamps_detail": "{measured} mesurés, {modelled} modélisés",
        "contract.baseline": "Référence (avant LED)",
        "contract.current": "Actuelle",
        "contract.saving": "Économie",
        "contract.saving_target": "objectif {target}",
        "contract.cost": "Coût",
        "contract.co2": "CO₂",
        "contract.month": "Mois",
        "contract.energy_table": "Énergie par mois (kWh)",
        "contract.chart_table": "Les chiffres du graphique",
        "contract.table_scroll": "Tableau (défile horizontalement)",
        "contract.error.forbidden": "Les rapports de performance sont destinés au poste de "
        "pilotage, aux gestionnaires du marché et au titulaire du lot.",
        "contract.error.not_found": "Introuvable\u00a0: {message}",
        "contract.error.invalid": "Cette demande n’est pas valable\u00a0: {message}",
        "transparency.title": "Transparence du marché",
        "transparency.heading_metropolis": "{metropolis}\u00a0: performance du marché en {period}",
        "transparency.heading_commune": "{commune}\u00a0: performance du marché en {period}",
        "transparency.intro": "Ce que le groupement qui entretient l’espace public a réalisé, "
        "calculé à partir des faits enregistrés\u00a0: les indicateurs face à leurs objectifs "
        "et l’énergie de l’éclairage public. Aucune donnée personnelle n’est publiée ici.",
        "transparency.no_contract": "Aucun marché de performance n’est encore chargé\u00a0: il "
        "n’y a rien à publier.",
        "transparency.generated": "Calculé le {when}.",
        "transparency.years": "Année",
        "transparency.previous_year": "Année précédente ({year})",
        "transparency.next_year": "Année suivante ({year})",
        "transparency.lots": "Indicateurs par lot",
        "transparency.no_lots": "Aucun indicateur sur cette période.",
        "transparency.energy": "Énergie de l’éclairage public",
        "transparency.no_energy": "Pas de chiffres d’énergie de l’éclairage sur cette période.",
        "transparency.penalties": "Pénalités appliquées sur la période",
        "transparency.penalties_total": "Total après plafonds\u00a0: {amount}",
        "transparency.open_data": "Données ouvertes",
        "transparency.open_data_intro": "Les mêmes chiffres, librement réutilisables, à des "
        "adresses stables\u00a0:",
        "transparency.json": "JSON",
        "transparency.csv": "CSV",
        "transparency.communes": "Communes",
        "transparency.metropolis": "Toute la métropole",
        "transparency.contract": "Marché {code}, du {start} au {end}",
        "transparency.contractor": "Titulaire\u00a0: {name}",
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
