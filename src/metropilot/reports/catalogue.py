"""The report categories a metropolis starts with: what citizens report most, in groups.

Installed with the synthetic city and by ``metropilot reports install-catalogue``; admins change
them through ``/api/v1/report-categories``. Codes are stable: client apps keep them.
"""

from __future__ import annotations

from typing import Any

from metropilot.reports.model import CategorySpec, parse_category_spec

__all__ = ["DEFAULT_CATEGORIES", "default_categories"]


def _where(code: str = "where", fr: str = "") -> dict[str, Any]:
    return {
        "code": code,
        "datatype": "text",
        "description": "Anything that helps the team find it (landmark, house number)",
        "datatype_description": fr or "Repère, numéro de la maison la plus proche…",
        "order": 90,
    }


def _choice(
    code: str, description: str, values: list[tuple[str, str]], *, required: bool = True
) -> dict[str, Any]:
    return {
        "code": code,
        "datatype": "singlevaluelist",
        "description": description,
        "required": required,
        "order": 10,
        "values": [{"key": key, "name": name} for key, name in values],
    }


_LIGHT_STATE = _choice(
    "light_state",
    "What is wrong with the light?",
    [("off", "Off at night"), ("flickering", "Flickering"), ("dim", "Too dim")],
)
_SIZE = _choice(
    "size",
    "How big is it?",
    [("small", "Smaller than a shoe box"), ("medium", "Up to a car boot"), ("large", "Larger")],
)
_DANGER = _choice(
    "danger",
    "Is it a danger right now?",
    [("yes", "Yes, for people or vehicles"), ("no", "No")],
)

DEFAULT_CATEGORIES: list[dict[str, Any]] = [
    # lighting
    {
        "code": "streetlight-broken",
        "group": "Lighting",
        "name": "Broken street light",
        "name_fr": "Lampadaire en panne",
        "description": "A street light that does not light, flickers or is too dim.",
        "keywords": ["light", "lamp", "lampadaire", "éclairage"],
        "asset_kind": "streetlight",
        "duplicate_radius_m": 30,
        "default_priority": "P3",
        "attributes": [_LIGHT_STATE, _where()],
    },
    {
        "code": "streetlight-daytime",
        "group": "Lighting",
        "name": "Light on in daytime",
        "name_fr": "Éclairage allumé en journée",
        "keywords": ["light", "day", "jour"],
        "asset_kind": "streetlight",
        "duplicate_radius_m": 50,
        "default_priority": "P4",
        # Often a dimming program at work, not a fault: an operator looks first.
        "opens_case": "triage",
    },
    {
        "code": "streetlight-damaged",
        "group": "Lighting",
        "name": "Damaged lamp post or open hatch",
        "name_fr": "Mât endommagé ou trappe ouverte",
        "keywords": ["post", "mât", "trappe", "wires"],
        "asset_kind": "streetlight",
        "duplicate_radius_m": 20,
        "default_priority": "P2",
        "attributes": [_DANGER],
    },
    # traffic signals
    {
        "code": "traffic-light-fault",
        "group": "Traffic signals",
        "name": "Traffic light fault",
        "name_fr": "Feu tricolore en panne",
        "keywords": ["traffic", "signal", "feu"],
        "asset_kind": "junction",
        "duplicate_radius_m": 60,
        "asset_radius_m": 80,
        "default_priority": "P1",
        "attributes": [
            _choice(
                "signal_state",
                "What do the lights show?",
                [("dark", "Nothing"), ("stuck", "Stuck on one colour"), ("flashing", "Flashing")],
            )
        ],
    },
    {
        "code": "road-sign-damaged",
        "group": "Traffic signals",
        "name": "Damaged or missing road sign",
        "name_fr": "Panneau endommagé ou manquant",
        "keywords": ["sign", "panneau"],
        "duplicate_radius_m": 30,
        "default_priority": "P3",
    },
    # roads
    {
        "code": "pothole",
        "group": "Roads and pavements",
        "name": "Pothole",
        "name_fr": "Nid-de-poule",
        "keywords": ["hole", "road", "trou", "chaussée"],
        "duplicate_radius_m": 20,
        "default_priority": "P3",
        "attributes": [_SIZE, _DANGER],
    },
    {
        "code": "pavement-damaged",
        "group": "Roads and pavements",
        "name": "Damaged pavement",
        "name_fr": "Trottoir dégradé",
        "keywords": ["pavement", "sidewalk", "trottoir"],
        "duplicate_radius_m": 20,
        "default_priority": "P3",
    },
    {
        "code": "manhole-displaced",
        "group": "Roads and pavements",
        "name": "Displaced or missing manhole cover",
        "name_fr": "Plaque d'égout déplacée ou manquante",
        "keywords": ["manhole", "regard", "plaque"],
        "duplicate_radius_m": 15,
        "default_priority": "P1",
    },
    {
        "code": "bollard-damaged",
        "group": "Roads and pavements",
        "name": "Damaged or stuck bollard",
        "name_fr": "Borne escamotable endommagée ou bloquée",
        "keywords": ["bollard", "borne"],
        "asset_kind": "bollard",
        "duplicate_radius_m": 20,
        "asset_radius_m": 40,
        "default_priority": "P2",
    },
    # cleanliness
    {
        "code": "graffiti",
        "group": "Cleanliness",
        "name": "Graffiti or fly-posting",
        "name_fr": "Tag ou affichage sauvage",
        "keywords": ["graffiti", "tag", "affiche"],
        "duplicate_radius_m": 15,
        "default_priority": "P4",
        "attributes": [
            _choice(
                "offensive",
                "Is it offensive?",
                [("yes", "Yes"), ("no", "No")],
                required=False,
            )
        ],
    },
    {
        "code": "fly-tipping",
        "group": "Cleanliness",
        "name": "Fly-tipping",
        "name_fr": "Dépôt sauvage",
        "keywords": ["rubbish", "dump", "déchets", "dépôt"],
        "duplicate_radius_m": 30,
        "default_priority": "P3",
        "attributes": [
            _SIZE,
            {
                "code": "contents",
                "datatype": "multivaluelist",
                "description": "What is there?",
                "order": 20,
                "values": [
                    {"key": "household", "name": "Household waste"},
                    {"key": "building", "name": "Building rubble"},
                    {"key": "hazardous", "name": "Chemicals, asbestos, syringes"},
                    {"key": "tyres", "name": "Tyres"},
                ],
            },
        ],
    },
    {
        "code": "bulky-waste",
        "group": "Cleanliness",
        "name": "Bulky waste left out",
        "name_fr": "Encombrants",
        "keywords": ["furniture", "mattress", "encombrants"],
        "duplicate_radius_m": 30,
        "default_priority": "P4",
        # Often a collection already booked by the household: an operator checks first.
        "opens_case": "triage",
    },
    {
        "code": "bin-overflowing",
        "group": "Cleanliness",
        "name": "Overflowing litter bin",
        "name_fr": "Corbeille pleine",
        "keywords": ["bin", "litter", "poubelle", "corbeille"],
        "duplicate_radius_m": 20,
        "default_priority": "P4",
    },
    # green spaces
    {
        "code": "fallen-branch",
        "group": "Green spaces",
        "name": "Fallen tree or branch",
        "name_fr": "Arbre ou branche tombée",
        "keywords": ["tree", "branch", "arbre", "branche"],
        "duplicate_radius_m": 30,
        "default_priority": "P2",
        "attributes": [_DANGER],
    },
    {
        "code": "vegetation-overgrown",
        "group": "Green spaces",
        "name": "Overgrown vegetation blocking the way",
        "name_fr": "Végétation envahissante",
        "keywords": ["hedge", "grass", "haie", "herbe"],
        "duplicate_radius_m": 30,
        "default_priority": "P4",
    },
    # street furniture
    {
        "code": "bus-shelter-damaged",
        "group": "Street furniture",
        "name": "Damaged bus shelter",
        "name_fr": "Abribus endommagé",
        "keywords": ["bus", "shelter", "abribus"],
        "duplicate_radius_m": 20,
        "default_priority": "P3",
        "attributes": [
            _choice(
                "damage",
                "What is damaged?",
                [("glass", "Broken glass"), ("seat", "Seat"), ("display", "Timetable display")],
            )
        ],
    },
    {
        "code": "bench-broken",
        "group": "Street furniture",
        "name": "Broken bench",
        "name_fr": "Banc cassé",
        "keywords": ["bench", "banc"],
        "duplicate_radius_m": 15,
        "default_priority": "P4",
    },
    {
        "code": "playground-damaged",
        "group": "Street furniture",
        "name": "Damaged playground equipment",
        "name_fr": "Jeu pour enfants endommagé",
        "keywords": ["playground", "aire de jeux"],
        "duplicate_radius_m": 30,
        "default_priority": "P2",
    },
    # vehicles and parking
    {
        "code": "abandoned-vehicle",
        "group": "Vehicles and parking",
        "name": "Abandoned vehicle",
        "name_fr": "Véhicule abandonné",
        "keywords": ["car", "wreck", "épave", "voiture"],
        "duplicate_radius_m": 20,
        "default_priority": "P4",
        "attributes": [
            {
                "code": "plate",
                "datatype": "string",
                "description": "Number plate, if any",
                "order": 10,
            },
            {
                "code": "since",
                "datatype": "datetime",
                "description": "Seen there since",
                "order": 20,
            },
        ],
    },
    # water
    {
        "code": "drain-blocked",
        "group": "Water and drainage",
        "name": "Blocked drain or flooding",
        "name_fr": "Avaloir bouché ou inondation",
        "keywords": ["drain", "flood", "avaloir", "inondation"],
        "duplicate_radius_m": 40,
        "default_priority": "P2",
        "attributes": [
            {
                "code": "depth_cm",
                "datatype": "number",
                "description": "Water depth in centimetres, roughly",
                "order": 10,
            }
        ],
    },
    {
        "code": "camera-damaged",
        "group": "Street furniture",
        "name": "Damaged public camera",
        "name_fr": "Caméra de voie publique endommagée",
        "keywords": ["camera", "caméra", "cctv"],
        "asset_kind": "camera",
        "duplicate_radius_m": 30,
        "asset_radius_m": 50,
        "default_priority": "P2",
        "public": False,
    },
]


def default_categories() -> list[CategorySpec]:
    return [parse_category_spec(raw) for raw in DEFAULT_CATEGORIES]
