"""The reference metropolis's performance contract and lighting programs, for the demo.

A 12-year global performance contract with the consortium the generator creates (invented names):
the lighting company holds the lighting lot, the lead contractor the traffic signals, video and
buildings, the IT company the command-centre IT. Its three results: 65% energy saving on public
lighting by the end of the contract (a yearly target rising linearly from 0%), intervention
delays on public space, and 99% availability of the IT systems. The figures are plausible
starting points, not those of any real contract.
"""

from __future__ import annotations

from typing import Any, Final

from metropilot.contracts.energy import target_trajectory
from metropilot.simulate.layout import IT_COMPANY, LEAD_CONTRACTOR, LIGHTING_COMPANY

__all__ = [
    "REFERENCE_ASSIGNMENT",
    "REFERENCE_CONTRACT",
    "REFERENCE_PROGRAMS",
    "REFERENCE_ROUTING",
    "reference_contract",
]

START_YEAR: Final = 2025
TERM_YEARS: Final = 12
FINAL_SAVING_PCT: Final = 65.0


def _kpi(
    code: str, name: str, unit: str, target: float, direction: str = "higher-is-better"
) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "unit": unit,
        "period": "month",
        "direction": direction,
        "target": target,
    }


def _delays() -> list[dict[str, Any]]:
    return [
        _kpi("response_on_time", "Responses on time", "%", 95),
        _kpi("resolution_on_time", "Repairs on time", "%", 90),
        _kpi("mttr_hours", "Mean time to repair", "h", 48, "lower-is-better"),
    ]


SLA_PUBLIC_SPACE: Final = [
    {
        "targets": {
            "P1": {"response_hours": 1, "resolution_hours": 4},
            "P2": {"response_hours": 4, "resolution_hours": 24},
            "P3": {"response_hours": 8, "resolution_hours": 72, "clock": "business"},
            "P4": {"response_hours": 24, "resolution_hours": 240, "clock": "business"},
        }
    }
]


def reference_contract() -> dict[str, Any]:
    """The contract document (the shape `metropilot.contracts.model.parse_contract` reads)."""
    return {
        "code": "MGP-2025",
        "parties": ["Métropole", LEAD_CONTRACTOR, LIGHTING_COMPANY, IT_COMPANY],
        "start": f"{START_YEAR}-01-01",
        "term_years": TERM_YEARS,
        "energy": {
            "final_target_pct": FINAL_SAVING_PCT,
            "eur_per_kwh": 0.20,
            "kg_co2_per_kwh": 0.052,
        },
        "it": {"components": ["api", "ingest"], "gateways": True},
        "lots": [_lighting_lot(), *_public_space_lots(), _it_lot()],
    }


def _lighting_lot() -> dict[str, Any]:
    """The lighting company's lot: delays, availability and the yearly energy-saving target."""
    last_year = START_YEAR + TERM_YEARS - 1
    saving_versions = [
        {
            "effective_from": f"{year}-01-01",
            "target": round(target_trajectory(START_YEAR, last_year, FINAL_SAVING_PCT, year), 1),
        }
        for year in range(START_YEAR, last_year + 1)
    ]
    lighting_kpis = [
        *_delays(),
        {
            **_kpi("availability", "Lighting availability", "%", 98),
            "measure": "lighting_availability",
        },
        {
            "code": "energy_saving",
            "name": "Energy saving against the pre-LED baseline",
            "unit": "%",
            "period": "year",
            "direction": "higher-is-better",
            "versions": saving_versions,
        },
    ]
    return {
        "code": "lighting",
        "contractor": LIGHTING_COMPANY,
        "sla": SLA_PUBLIC_SPACE,
        "kpis": lighting_kpis,
        "penalties": [
            {
                "cap_eur": 50_000,
                "rules": [
                    {
                        "code": "late-repair",
                        "kind": "delay",
                        "eur_per_hour": 50,
                        "priorities": ["P1", "P2"],
                        "cap_eur": 20_000,
                    },
                    {
                        "code": "dark-streets",
                        "kind": "shortfall",
                        "kpi": "availability",
                        "eur_per_point": 1_000,
                        "cap_eur": 10_000,
                    },
                    {
                        "code": "energy-shortfall",
                        "kind": "shortfall",
                        "kpi": "energy_saving",
                        "eur_per_point": 2_000,
                    },
                ],
                "bonuses": [
                    {
                        "code": "bright-streets",
                        "kpi": "availability",
                        "eur_per_point": 500,
                        "cap_eur": 5_000,
                    }
                ],
            }
        ],
    }


def _public_space_lots() -> list[dict[str, Any]]:
    """The lead contractor's lots on public space: delays only, late repairs penalised."""
    return [
        {
            "code": lot,
            "contractor": LEAD_CONTRACTOR,
            "sla": SLA_PUBLIC_SPACE,
            "kpis": _delays(),
            "penalties": [
                {
                    "cap_eur": 30_000,
                    "rules": [
                        {
                            "code": "late-repair",
                            "kind": "delay",
                            "eur_per_hour": per_hour,
                            "priorities": ["P1", "P2"],
                            "cap_eur": 15_000,
                        }
                    ],
                }
            ],
        }
        for lot, per_hour in (("traffic-signals", 100), ("video", 60), ("buildings", 40))
    ]


def _it_lot() -> dict[str, Any]:
    """The IT company's lot: tighter delays and the availability of the IT systems."""
    return {
        "code": "it",
        "contractor": IT_COMPANY,
        "sla": [
            {
                "targets": {
                    "P1": {"response_hours": 0.5, "resolution_hours": 4},
                    "P2": {"response_hours": 2, "resolution_hours": 24},
                    "P3": {"response_hours": 8, "resolution_hours": 72},
                    "P4": {"response_hours": 24, "resolution_hours": 240},
                }
            }
        ],
        "kpis": [
            {
                **_kpi("availability", "IT availability", "%", 99),
                "measure": "it_availability",
            }
        ],
        "penalties": [
            {
                "cap_eur": 30_000,
                "rules": [
                    {
                        "code": "downtime",
                        "kind": "shortfall",
                        "kpi": "availability",
                        "eur_per_point": 5_000,
                    }
                ],
            }
        ],
    }


REFERENCE_CONTRACT: Final = reference_contract()

# The metropolis's lighting policy (50% from 23:00 to 05:00), and two programs to compare with.
REFERENCE_PROGRAMS: Final[dict[str, dict[str, Any]]] = {
    "eco-23-05": {
        "name": "50% from 23:00 to 05:00",
        "steps": [
            {"from": "dusk", "to": "23:00", "level": 100},
            {"from": "23:00", "to": "05:00", "level": 50},
            {"from": "05:00", "to": "dawn", "level": 100},
        ],
    },
    "off-01-05": {
        "name": "Off from 01:00 to 05:00",
        "steps": [
            {"from": "dusk", "to": "01:00", "level": 100},
            {"from": "01:00", "to": "05:00", "level": 0},
            {"from": "05:00", "to": "dawn", "level": 100},
        ],
    },
    "full-night": {
        "name": "Full power all night",
        "steps": [{"from": "dusk", "to": "dawn", "level": 100}],
    },
}

# The program the whole metropolis runs from the contract's start.
REFERENCE_ASSIGNMENT: Final = ("eco-23-05", f"{START_YEAR}-01-01")

# Who repairs what under the contract: each lot's contractor gets the faults of its equipment,
# the roads department the public space (and the scenarios' road crews). Report categories
# without a rule here (litter, graffiti, bulky waste…) wait for the command post's triage.
REFERENCE_ROUTING: Final[list[dict[str, Any]]] = [
    {
        "order": 100,
        "name": "Lighting faults to the lighting lot",
        "categories": [
            "lamp-failure",
            "streetlight-supply-loss",
            "streetlight-silent",
            "cabinet-supply-loss",
            "cabinet-silent",
            "streetlight-broken",
            "streetlight-daytime",
            "streetlight-damaged",
        ],
        "team": f"{LIGHTING_COMPANY}-field",
    },
    {
        "order": 110,
        "name": "Traffic signals, bollards, cameras and buildings to the lead contractor",
        "categories": [
            "junction-controller-fault",
            "traffic-light-fault",
            "bollard-damaged",
            "camera-offline",
            "camera-damaged",
            "building-intrusion",
            "building-fire",
        ],
        "team": f"{LEAD_CONTRACTOR}-field",
    },
    {
        "order": 120,
        "name": "Roads and the response plans' crews to the roads department",
        "categories": [
            "pothole",
            "pavement-damaged",
            "road-sign-damaged",
            "manhole-displaced",
            "road-clearance",
            "snow-clearing",
            "flood-pumping",
        ],
        "team": "metropole-roads-field",
    },
]
