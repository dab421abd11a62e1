"""Open311 service discovery, the services (report categories) and their definitions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from metropilot.accounts.audience import Audience, audience
from metropilot.db.uow import UnitOfWork
from metropilot.reports import services
from metropilot.reports.model import Category
from metropilot.reports.open311 import (
    AttributeDefinition,
    AttributeValueOption,
    Discovery,
    DiscoveryEndpoint,
    Format,
    Open311Error,
    Rendered,
    ServiceDefinition,
    ServiceEntry,
    render_discovery,
    render_service_definition,
    render_services,
)
from metropilot.reports.open311_routes.answering import (
    BASE,
    CHANGESET,
    Open311Route,
    base_url,
    check_jurisdiction,
    param,
    respond,
    service_name,
    uow_of,
)
from metropilot.reports.open311_routes.openapi import JURISDICTION, Fmt, answers
from metropilot.reports.open311_routes.schemas import (
    DiscoveryJson,
    ServiceDefinitionJson,
    ServiceJson,
)
from metropilot.shared.errors import NotFound

__all__ = ["attribute_definitions", "category_or_404", "router"]

router = APIRouter(route_class=Open311Route)


# --- discovery and services --------------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Open311 service discovery",
    response_class=Response,
    responses=answers(DiscoveryJson, "the endpoints of this server"),
)
def discovery(fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Rendered:
        return render_discovery(
            Discovery(
                changeset=CHANGESET,
                contact=f"{request.app.state.settings.metropolis_name}: command post",
                key_service="Ask the metropolis's platform administrators for an api_key "
                "with the open311:post permission.",
                endpoints=(
                    DiscoveryEndpoint(
                        url=base_url(request) + BASE, changeset=CHANGESET, type="production"
                    ),
                ),
            ),
            chosen,
        )

    return respond(fmt, produce)


@router.get(
    "/services.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The categories citizens can report (Open311 services)",
    response_class=Response,
    responses=answers(list[ServiceJson], "the services"),
    openapi_extra={"parameters": [JURISDICTION]},
)
def list_services(fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(request.query_params, "jurisdiction_id"))
        with uow_of(request) as uow:
            found = services.list_categories(uow)
        return render_services(
            [
                ServiceEntry(
                    service_code=c.code,
                    service_name=service_name(c, request),
                    description=c.spec.description or None,
                    metadata=bool(c.spec.attributes),
                    type="realtime",
                    keywords=c.spec.keywords,
                    group=c.spec.group,
                )
                for c in found
            ],
            chosen,
        )

    return respond(fmt, produce)


def attribute_definitions(category: Category) -> tuple[AttributeDefinition, ...]:
    return tuple(
        AttributeDefinition(
            code=a.code,
            datatype=a.datatype,
            description=a.description,
            required=a.required,
            order=a.order,
            variable=a.variable,
            datatype_description=a.datatype_description or None,
            values=tuple(AttributeValueOption(v.key, v.name) for v in a.values),
        )
        for a in category.spec.attributes
    )


def category_or_404(uow: UnitOfWork, code: str) -> Category:
    try:
        return services.get_category(uow, code)
    except NotFound:
        raise Open311Error.not_found(f"unknown service_code {code!r}") from None


@router.get(
    "/services/{service_code}.{fmt}",
    dependencies=[audience(Audience.PUBLIC)],
    summary="The questions a category asks (Open311 service definition)",
    response_class=Response,
    responses=answers(ServiceDefinitionJson, "the service's definition"),
    openapi_extra={"parameters": [JURISDICTION]},
)
def service_definition(service_code: str, fmt: Fmt, request: Request) -> Response:
    def produce(chosen: Format) -> Rendered:
        check_jurisdiction(request, param(request.query_params, "jurisdiction_id"))
        with uow_of(request) as uow:
            category = category_or_404(uow, service_code)
        if not category.spec.attributes:
            raise Open311Error.not_found(
                f"service {service_code!r} has no definition (metadata false)"
            )
        return render_service_definition(
            ServiceDefinition(
                service_code=category.code, attributes=attribute_definitions(category)
            ),
            chosen,
        )

    return respond(fmt, produce)
