"""Every endpoint says who it is for."""

from metropilot.accounts.audience import route_audiences
from metropilot.bootstrap import Platform
from metropilot.web.app import create_app


def test_every_route_declares_its_audience(world: Platform) -> None:
    routes = list(route_audiences(create_app(world).routes))
    paths = {path for _, path, _ in routes}
    assert {"/api/v1/assets", "/api/v1/communes", "/api/v1/organisations", "/"} <= paths
    missing = [f"{methods} {path}" for methods, path, audiences in routes if not audiences]
    assert missing == [], f"routes without an audience: {missing}"
