"""The command line, run as a user would, on a throw-away embedded database."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from metropilot.cli.main import app
from metropilot.settings import get_settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("METROPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("METROPILOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "240")  # tables wide enough not to truncate cells
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    # Rich wraps long lines and draws table borders; compare words, not layout.
    words = re.sub("[\u2500-\u257f]", " ", result.output)
    return result.exit_code, " ".join(words.split())


def test_generate_then_export_then_reimport_changes_nothing(data_dir: Path) -> None:
    code, output = invoke("generate", "--scale", "0.02", "--seed", "3")
    assert code == 0, output
    assert "23 communes (generated boundaries)" in output
    code, output = invoke("generate", "--scale", "0.02")
    assert code == 2
    assert "registry is not empty" in output

    exported = data_dir / "cameras.csv"
    code, output = invoke(
        "assets", "export", "--format", "csv", "--kind", "camera", "-o", str(exported)
    )
    assert code == 0, output
    lines = exported.read_text().splitlines()
    assert lines[0].startswith(
        "external_ref,kind,subtype,name,lon,lat,status,maintainer,parent,commune"
    )
    assert len(lines) > 2
    code, output = invoke("assets", "import", str(exported))
    assert code == 0, output
    assert f"0 created, 0 updated, {len(lines) - 1} unchanged" in output

    geo = data_dir / "all.geojson"
    assert invoke("assets", "export", "-o", str(geo))[0] == 0
    assert json.loads(geo.read_text())["type"] == "FeatureCollection"


def test_a_bad_csv_names_file_line_and_field_and_imports_nothing(data_dir: Path) -> None:
    assert invoke("generate", "--scale", "0.02")[0] == 0
    bad = data_dir / "lights.csv"
    bad.write_text(
        "external_ref,kind,lon,lat,lamp_technology,nominal_power_w\n"
        "NEW-1,streetlight,5.0415,47.3220,LED,36\n"
        "NEW-2,streetlight,5.0415,47.3220,LED,lots\n"
        "NEW-3,streetlight,2.35,48.85,LED,36\n"
    )
    code, output = invoke("assets", "import", str(bad))
    assert code == 2
    assert f"{bad}: 2 problem(s), nothing imported" in output
    assert "line 3.attributes.nominal_power_w" in output
    assert "line 4.geometry" in output
    code, output = invoke("assets", "export", "--format", "csv", "--kind", "streetlight")
    assert "NEW-1" not in output


def test_malformed_geojson_names_line_and_column(data_dir: Path) -> None:
    assert invoke("generate", "--scale", "0.02")[0] == 0
    bad = data_dir / "broken.geojson"
    bad.write_text('{"type": "FeatureCollection",\n "features": [\n')
    code, output = invoke("assets", "import", str(bad))
    assert code == 2
    assert "not valid JSON at line 3" in output


def test_missing_file(data_dir: Path) -> None:
    code, output = invoke("assets", "import", str(data_dir / "nope.csv"))
    assert code == 2
    assert "No such file" in output


def test_communes_import_and_list(data_dir: Path) -> None:
    boundaries = data_dir / "communes.geojson"
    boundaries.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"insee": "21231", "name": "Dijon", "population": 159106},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[5.0, 47.3], [5.1, 47.3], [5.1, 47.4], [5.0, 47.3]]],
                        },
                    }
                ],
            }
        )
    )
    code, output = invoke("communes", "import", str(boundaries))
    assert code == 0, output
    assert "1 communes created" in output
    code, output = invoke("communes", "list")
    assert "Dijon" in output


def test_db_commands(data_dir: Path) -> None:
    assert invoke("db", "upgrade")[0] == 0
    code, output = invoke("db", "check")
    assert code == 0, output
    assert "agree" in output
    code, output = invoke("db", "current")
    assert re.search(r"current (\w+), head \1\b", output), output


def test_users_and_keys_from_the_shell(data_dir: Path) -> None:
    assert invoke("generate", "--scale", "0.02")[0] == 0
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "--username",
            "Alice",
            "--role",
            "commune_agent",
            "--org",
            "commune-21231",
            "--commune",
            "21231",
            "--password-stdin",
        ],
        input="a long enough pass phrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "created commune_agent alice" in result.output
    code, output = invoke("users", "list")
    assert "alice commune_agent commune-21231 21231" in output
    result = runner.invoke(
        app,
        ["users", "create", "--username", "bob", "--role", "operator", "--password-stdin"],
        input="a long enough pass phrase\n",
    )
    assert result.exit_code == 2
    assert "a operator belongs to an organisation" in " ".join(result.output.split())
    assert invoke("users", "disable", "alice")[0] == 0
    assert "alice commune_agent commune-21231 21231 disabled" in invoke("users", "list")[1]

    result = runner.invoke(
        app, ["keys", "create", "--name", "gateway", "--scope", "telemetry:write kind=streetlight"]
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("mpk_")
    code, output = invoke("keys", "list")
    assert "telemetry:write kind=streetlight" in output
    assert key not in output
    assert invoke("keys", "revoke", "1")[0] == 0
    assert "revoked" in invoke("keys", "list")[1]
    code, output = invoke("keys", "create", "--name", "x", "--scope", "launch:missiles")
    assert code == 2
    assert "unknown permission 'launch:missiles'" in output


def test_demo_accounts_are_created_once_with_random_passwords(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metropilot.cli.main as cli_main

    served: list[object] = []

    def serve_and_stop(*args: object, lease: Any, on_stop: Any) -> None:
        served.append(args)
        on_stop()
        lease.release()

    monkeypatch.setattr(cli_main, "run_server", serve_and_stop)
    code, output = invoke("demo", "--scale", "0.02")
    assert code == 0, output
    accounts = (data_dir / "demo-accounts.txt").read_text().splitlines()[1:]
    assert {line.split()[0] for line in accounts} == {
        "admin",
        "supervisor",
        "operator",
        "commune_agent",
        "contractor",
        "field_agent",
        "citizen",
    }
    assert oct((data_dir / "demo-accounts.txt").stat().st_mode & 0o777) == "0o600"
    first_passwords = [line.split()[2] for line in accounts]
    assert len(set(first_passwords)) == len(first_passwords)
    code, output = invoke("demo", "--scale", "0.02")
    assert code == 0
    assert "demo accounts: see" in output
    assert (data_dir / "demo-accounts.txt").read_text().splitlines()[1:] == accounts
    assert len(served) == 2


def test_telemetry_maintenance_from_the_shell(data_dir: Path) -> None:
    assert invoke("generate", "--scale", "0.02")[0] == 0
    code, output = invoke("telemetry", "maintain")
    assert code == 0, output
    assert "hourly rollups over 48 h" in output


def test_second_factor_from_the_shell(data_dir: Path) -> None:
    assert invoke("generate", "--scale", "0.02")[0] == 0
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "--username",
            "olga",
            "--role",
            "operator",
            "--org",
            "metropole-it",
            "--password-stdin",
        ],
        input="a long enough pass phrase\n",
    )
    assert result.exit_code == 0, result.output
    code, output = invoke("users", "totp", "olga")
    assert code == 0
    assert "otpauth://totp/" in output
    assert "olga operator metropole-it active yes" in invoke("users", "list")[1]
    assert invoke("users", "totp-disable", "olga")[0] == 0
    code, output = invoke("users", "totp-disable", "olga")
    assert code == 2
    assert "has no second factor" in output


def test_the_report_catalogue_from_the_shell(data_dir: Path) -> None:
    assert invoke("generate", "--scale", "0.02")[0] == 0
    code, output = invoke("reports", "install-catalogue")
    assert code == 0
    assert "0 categories added" in output  # the city came with it
    code, output = invoke("reports", "categories")
    assert code == 0
    assert "pothole" in output
    assert "streetlight-broken" in output
    code, output = invoke("reports", "send-mail")
    assert code != 0
    assert "METROPILOT_SMTP_HOST" in output
