"""A fake Metabase for tests: `POST /api/card/:id/query/{csv,json,xlsx}` with the `x-api-key`
header and the download form fields (`format_rows`, `parameters`; as form content or JSON, as
Metabase accepts both), answering with the card's rows exported the way Metabase's writers do
(tests/fakes/metabase_exports.py): display-name headers, unformatted (ISO dates, plain numbers)
or formatted (dates in the card's date style, grouped numbers), and Metabase's error shapes."""

from __future__ import annotations

import datetime as dt
import re

from tests.fakes import metabase_exports as mx
from tests.fakes.http import FakeServer, Request, Response

API_KEY = "mb_FAKE-SECRET-KEY-0123456789"
CONTENT_TYPES = {"csv": "text/csv",
                 "json": "application/json; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class FakeMetabase(FakeServer):
    def __init__(self, api_key: str = API_KEY):
        super().__init__()
        self.api_key = api_key
        self.cards: dict[int, tuple[list[str], list[list], mx.DateSettings]] = {}

    def set_card(self, card_id: int, header: list[str], rows: list[list],
                 date_settings: mx.DateSettings = mx.DateSettings()) -> None:
        """The card's result: dates as dt.date / dt.datetime (formatted on export) or as the
        text Metabase's unformatted export gives, numbers as numbers."""
        self.cards[card_id] = (header, rows, date_settings)

    def handle(self, request: Request) -> Response:
        m = re.fullmatch(r"/api/card/(\d+)/query/(csv|json|xlsx)", request.path)
        if not m or request.method != "POST":
            return Response(404, "API endpoint does not exist.", content_type="text/plain")
        if request.headers.get("x-api-key") != self.api_key:
            return Response(401, "Unauthenticated", content_type="text/plain")
        card = self.cards.get(int(m.group(1)))
        if card is None:
            return Response(404, "Not found.", content_type="text/plain")
        fmt = m.group(2)
        fields = _fields(request)
        formatted = str(fields.get("format_rows", "false")).lower() == "true"
        header, rows, settings = card
        body = export(fmt, header, rows, formatted, settings)
        return Response(200, body, content_type=CONTENT_TYPES[fmt],
                        headers={"Content-Disposition": f'attachment; filename="query_result_'
                                                        f'2026-03-30T09:00:00.000+09:00.{fmt}"'})


def _fields(request: Request) -> dict:
    content_type = request.headers.get("Content-Type", "")
    if "json" in content_type:
        return request.json() or {}
    return request.form()


def export(fmt: str, header: list[str], rows: list[list], formatted: bool,
           settings: mx.DateSettings = mx.DateSettings()) -> bytes:
    """The rows exported as Metabase writes `fmt`, formatted or not (XLSX is always typed)."""
    if fmt == "xlsx":
        return mx.xlsx_bytes(header, rows)
    values = [[_value(v, formatted, settings) for v in row] for row in rows]
    if fmt == "json":
        if formatted:
            values = [[None if v is None else str(v) for v in row] for row in values]
        return mx.json_bytes(header, values)
    return mx.csv_bytes(header, values)


def _value(value, formatted: bool, settings: mx.DateSettings):
    if isinstance(value, (dt.date, dt.datetime)):
        if not formatted:
            return value.isoformat()
        return mx.format_date(value, settings)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and formatted:
        return mx.format_number(value)
    return value
