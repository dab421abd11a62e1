"""Asset files in and out: GeoJSON and CSV.

Reading turns a file into drafts and reports every problem with its place (``line 12``,
``feature 3``) and field; the service then validates and writes all or nothing. Writing streams,
so exporting 340,000 lights never holds them all in memory.
"""

from __future__ import annotations

import csv
import io
import json
import typing
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from metropilot.assets.model import (
    ATTRIBUTE_SCHEMAS,
    Asset,
    AssetDraft,
    AssetKind,
    AssetStatus,
    parse_kind,
    parse_status,
)
from metropilot.assets.schemas import asset_out, document_feature
from metropilot.shared.errors import InvalidInput, Problem

__all__ = [
    "CSV_COLUMNS",
    "asset_feature",
    "attribute_columns",
    "csv_rows",
    "geojson_chunks",
    "read_csv",
    "read_geojson",
]

CSV_COLUMNS = (
    "external_ref",
    "kind",
    "subtype",
    "name",
    "lon",
    "lat",
    "status",
    "maintainer",
    "parent",
    "commune",
)
# Derived or kept by the platform: present in exports and API answers, ignored on import.
_READ_ONLY = {"commune", "id", "parent_ref", "updated_at", "created_at", "version", "distance_m"}
LIST_SEPARATOR = "|"


def attribute_columns(kinds: Iterable[AssetKind] = tuple(AssetKind)) -> list[str]:
    """Attribute columns for the given kinds, in a stable order (schema order, first seen)."""
    columns: dict[str, None] = {}
    for kind in kinds:
        for name in ATTRIBUTE_SCHEMAS[kind].model_fields:
            columns.setdefault(name, None)
    return list(columns)


def _list_fields(kind: AssetKind) -> set[str]:
    fields = set()
    for name, info in ATTRIBUTE_SCHEMAS[kind].model_fields.items():
        annotation = info.annotation
        args = (annotation, *typing.get_args(annotation))
        if any(typing.get_origin(a) is list for a in args):
            fields.add(name)
    return fields


class _Collector:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, loc: str, message: str) -> None:
        self.problems.append(Problem(loc, message))

    def raise_if_any(self) -> None:
        if self.problems:
            first = self.problems[0]
            raise InvalidInput(
                f"{self.source}: {len(self.problems)} problem(s), nothing imported. "
                f"First: {first['loc']}: {first['message']}",
                details=self.problems[:1000],
                code="import_rejected",
            )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _draft(
    props: dict[str, Any],
    lon: float,
    lat: float,
    attributes: dict[str, Any],
    where: str,
    out: _Collector,
) -> AssetDraft | None:
    try:
        kind = parse_kind(props.get("kind"), f"{where}.kind")
    except InvalidInput as exc:
        out.add(f"{where}.kind", exc.message)
        return None
    status: AssetStatus | None = None
    if _text(props.get("status")):
        try:
            status = parse_status(props.get("status"), f"{where}.status")
        except InvalidInput as exc:
            out.add(f"{where}.status", exc.message)
            return None
    ref = _text(props.get("external_ref"))
    if ref is None:
        out.add(f"{where}.external_ref", "required")
        return None
    return AssetDraft(
        external_ref=ref,
        kind=kind,
        lon=lon,
        lat=lat,
        attributes=attributes,
        maintainer=_text(props.get("maintainer")),
        parent_ref=_parent_ref(props),
        subtype=_text(props.get("subtype")),
        name=_text(props.get("name")),
        status=status,
        where=where,
    )


def _parent_ref(props: dict[str, Any]) -> str | None:
    """The parent's external reference: ``parent_ref`` as the API writes it, or ``parent`` as
    people write it in a file (an integer ``parent`` is the API's id and is not a reference)."""
    ref = _text(props.get("parent_ref"))
    if ref is None and isinstance(props.get("parent"), str):
        ref = _text(props.get("parent"))
    return ref


def read_geojson(data: bytes | str, source: str = "GeoJSON") -> list[AssetDraft]:
    """Features with Point geometry; properties ``external_ref``, ``kind``, optional ``subtype``,
    ``name``, ``status``, ``maintainer`` (organisation code), ``parent`` (external reference) and
    ``attributes`` (an object; kind-specific fields may also stand directly in properties)."""
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            details=[Problem(f"line {exc.lineno}", exc.msg)],
            code="malformed_geojson",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{source}: not UTF-8 text", code="malformed_geojson") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise InvalidInput(
            f"{source}: expected a GeoJSON FeatureCollection, got {found!r}",
            code="malformed_geojson",
        )
    features = document.get("features")
    if not isinstance(features, list):
        raise InvalidInput(f"{source}: 'features' must be a list", code="malformed_geojson")
    out = _Collector(source)
    drafts: list[AssetDraft] = []
    for index, feature in enumerate(features):
        where = f"feature {index}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            out.add(where, "not a GeoJSON Feature")
            continue
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            found = geometry.get("type") if isinstance(geometry, dict) else geometry
            out.add(f"{where}.geometry", f"must be a Point, got {found!r}")
            continue
        coords = geometry.get("coordinates")
        if (
            not isinstance(coords, list)
            or len(coords) not in (2, 3)
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
        ):
            out.add(f"{where}.geometry.coordinates", "must be [lon, lat] numbers")
            continue
        props = feature.get("properties")
        if not isinstance(props, dict):
            out.add(f"{where}.properties", "must be an object")
            continue
        attributes = props.get("attributes", {})
        if not isinstance(attributes, dict):
            out.add(f"{where}.properties.attributes", "must be an object")
            continue
        loose = {
            k: v
            for k, v in props.items()
            if k not in CSV_COLUMNS and k not in _READ_ONLY and k != "attributes"
        }
        draft = _draft(
            props, float(coords[0]), float(coords[1]), {**loose, **attributes}, where, out
        )
        if draft is not None:
            drafts.append(draft)
    out.raise_if_any()
    return drafts


def read_csv(text: str, source: str = "CSV") -> list[AssetDraft]:
    """A header line then one asset per line: the columns of ``CSV_COLUMNS`` (``commune`` is
    ignored, the platform derives it) and any attribute column; empty cells are absent values;
    list attributes are ``|``-separated."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in ("external_ref", "kind", "lon", "lat") if c not in header]
    if missing:
        raise InvalidInput(
            f"{source} line 1: missing column(s) {', '.join(missing)}",
            details=[Problem("line 1", f"missing column {c}") for c in missing],
            code="malformed_csv",
        )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise InvalidInput(
            f"{source} line 1: duplicated column(s) {', '.join(duplicated)}", code="malformed_csv"
        )
    out = _Collector(source)
    drafts: list[AssetDraft] = []
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row:
            out.add(where, f"{len(row[None])} more cell(s) than the header has columns")
            continue
        coords: list[float] = []
        for name in ("lon", "lat"):
            try:
                coords.append(float(row[name]))
            except (TypeError, ValueError):
                out.add(f"{where}.{name}", f"must be a decimal number, got {row[name]!r}")
        if len(coords) != 2:
            continue
        try:
            kind = AssetKind(str(row["kind"]).strip())
            lists = _list_fields(kind)
        except ValueError:
            lists = set()
        attributes: dict[str, Any] = {}
        for name, value in row.items():
            if name in CSV_COLUMNS or name in _READ_ONLY or value is None or not value.strip():
                continue
            attributes[name] = (
                [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
                if name in lists
                else value.strip()
            )
        draft = _draft(row, coords[0], coords[1], attributes, where, out)
        if draft is not None:
            drafts.append(draft)
    out.raise_if_any()
    return drafts


def asset_feature(asset: Asset) -> dict[str, Any]:
    """The same Feature the API answers, so that an API page and an export read back alike."""
    return document_feature(asset_out(asset))


def geojson_chunks(assets: Iterable[Asset]) -> Iterator[str]:
    """A FeatureCollection as text chunks, one feature per line (diff- and grep-friendly)."""
    yield '{"type": "FeatureCollection", "features": [\n'
    first = True
    for asset in assets:
        yield ("" if first else ",\n") + orjson.dumps(asset_feature(asset)).decode()
        first = False
    yield "\n]}\n"


def csv_rows(
    assets: Iterable[Asset], kinds: Iterable[AssetKind] = tuple(AssetKind)
) -> Iterator[str]:
    """CSV lines that ``read_csv`` reads back to the same assets."""
    attrs = attribute_columns(kinds)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow([*CSV_COLUMNS, *attrs])
    yield flush()
    for asset in assets:
        fixed = [
            asset.external_ref,
            asset.kind.value,
            asset.subtype or "",
            asset.name or "",
            repr(asset.lon),
            repr(asset.lat),
            asset.status.value,
            asset.maintainer_code or "",
            asset.parent_ref or "",
            asset.commune_insee,
        ]
        values = []
        for name in attrs:
            value = asset.attributes.get(name)
            if isinstance(value, list):
                value = LIST_SEPARATOR.join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            values.append("" if value is None else str(value))
        writer.writerow(fixed + values)
        yield flush()
