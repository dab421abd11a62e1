"""``metropilot privacy purge``, run as an operator would, on a throw-away embedded database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from metropilot.assets import repository as assets_repository
from metropilot.bootstrap import bootstrap
from metropilot.cli import main
from metropilot.cli.privacy import app as privacy_app
from metropilot.reports import privacy, repository, services
from metropilot.reports.model import ReportState
from metropilot.settings import get_settings
from metropilot.shared.clock import utcnow
from tests.conftest import TEST_ACTOR

runner = CliRunner()
# As cli/main.py registers it: ``app.add_typer(privacy_app, name="privacy")``.
root = typer.Typer()
root.add_typer(privacy_app, name="privacy")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("METROPILOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("METROPILOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("METROPILOT_PRIVACY_RETENTION_MONTHS", raising=False)
    monkeypatch.setenv("COLUMNS", "240")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(root, list(args))
    words = re.sub("[\u2500-\u257f]", " ", result.output)
    return result.exit_code, " ".join(words.split())


def generate() -> None:
    result = runner.invoke(main.app, ["generate", "--scale", "0.01", "--seed", "3"])
    assert result.exit_code == 0, result.output


def closed_reports(months_ago: list[float]) -> list[int]:
    """Reports with an e-mail each, closed that many months ago."""
    platform = bootstrap(get_settings())
    try:
        a = assets_repository.assets.c
        with platform.uow_factory() as uow:
            lon, lat = uow.connection.execute(
                select(a.lon, a.lat).where(a.kind == "streetlight").limit(1)
            ).one()
        ids = []
        for n, months in enumerate(months_ago):
            with platform.uow_factory(write=True) as uow:
                report = services.submit(
                    uow,
                    services.Submission(
                        category_code="pothole",
                        lon=float(lon),
                        lat=float(lat),
                        email=f"citizen{n}@example.org",
                        first_name="Camille",
                        allow_me_too=False,
                    ),
                    TEST_ACTOR,
                ).report
                closed = utcnow() - privacy.retention_from_months(months)
                services.change_state(uow, report.id, ReportState.FIXED, TEST_ACTOR, now=closed)
                uow.commit()
            ids.append(report.id)
        return ids
    finally:
        platform.close()


def emails(ids: list[int]) -> list[str | None]:
    platform = bootstrap(get_settings())
    r = repository.reports.c
    try:
        with platform.uow_factory() as uow:
            rows = uow.connection.execute(select(r.email).where(r.id.in_(ids)).order_by(r.id))
            return [row[0] for row in rows]
    finally:
        platform.close()


def test_purge_counts_erases_and_says_so(data_dir: Path) -> None:
    generate()
    ids = closed_reports([13, 13, 11])

    code, output = invoke("privacy", "purge", "--dry-run")
    assert code == 0, output
    assert "dry run, nothing changed" in output
    assert "reports (reporter's name, e-mail, phone, device, account) 2" in output
    assert "e-mails not sent yet (deleted) 4" in output
    assert "2 reports would be erased" in output
    assert emails(ids) == ["citizen0@example.org", "citizen1@example.org", "citizen2@example.org"]

    code, output = invoke("privacy", "purge", "--older-than-months", "14")
    assert code == 0, output
    assert "(14 months)" in output
    assert "0 reports were erased" in output

    code, output = invoke("privacy", "purge")
    assert code == 0, output
    assert "(12 months)" in output
    assert "2 reports were erased; their public record is kept" in output
    assert emails(ids) == [None, None, "citizen2@example.org"]
    assert "0 reports were erased" in invoke("privacy", "purge")[1]

    code, output = invoke("privacy", "purge", "--older-than-months", "10")
    assert code == 0, output
    assert emails(ids) == [None, None, None]


def test_the_retention_comes_from_the_settings(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate()
    ids = closed_reports([13])
    monkeypatch.setenv("METROPILOT_PRIVACY_RETENTION_MONTHS", "24")
    get_settings.cache_clear()
    code, output = invoke("privacy", "purge")
    assert code == 0, output
    assert "(24 months)" in output
    assert emails(ids) == ["citizen0@example.org"]


def test_a_negative_retention_is_refused(data_dir: Path) -> None:
    code, output = invoke("privacy", "purge", "--older-than-months", "-1")
    assert code == 2
    assert "--older-than-months" in output
