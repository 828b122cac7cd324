"""A fake Metabase for tests: `POST /api/card/:id/query/csv` with the `x-api-key` header, CSV
answers whose headers are the columns' display names, and Metabase's error shapes."""

from __future__ import annotations

import csv
import io
import re

from tests.fakes.http import FakeServer, Request, Response

API_KEY = "mb_FAKE-SECRET-KEY-0123456789"


class FakeMetabase(FakeServer):
    def __init__(self, api_key: str = API_KEY):
        super().__init__()
        self.api_key = api_key
        self.cards: dict[int, bytes] = {}

    def set_card(self, card_id: int, header: list[str], rows: list[list]) -> None:
        """The card's result as Metabase exports it unformatted (ISO dates, plain numbers)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        self.cards[card_id] = out.getvalue().encode("utf-8")

    def handle(self, request: Request) -> Response:
        m = re.fullmatch(r"/api/card/(\d+)/query/csv", request.path)
        if not m or request.method != "POST":
            return Response(404, "API endpoint does not exist.", content_type="text/plain")
        if request.headers.get("x-api-key") != self.api_key:
            return Response(401, "Unauthenticated", content_type="text/plain")
        card = self.cards.get(int(m.group(1)))
        if card is None:
            return Response(404, "Not found.", content_type="text/plain")
        return Response(200, card, content_type="text/csv",
                        headers={"Content-Disposition":
                                 'attachment; filename="query_result_2026-03-30.csv"'})
