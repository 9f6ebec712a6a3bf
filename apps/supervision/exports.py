"""CSV and Excel exports of history queries, bounded and streamed.

CSV streams row by row (StreamingHttpResponse). Excel is written by XlsxWriter in
constant-memory mode (each row goes to a temporary file as it is written) and sent as a
file. Either way the query is read in chunks (timeline.query_iter) and stops at
EXPORT_MAX_ROWS, so a query over the whole city cannot exhaust memory.
"""

from __future__ import annotations

import csv
import tempfile

from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext as _

from apps.core.personal_data import mask_text
from apps.core.timefmt import local_second

EXPORT_MAX_ROWS = 100_000


def header() -> list[str]:
    return [_("time"), _("record"), _("object"), _("change"), _("actor"), _("role"), _("reason"), _("before → after"),
            _("reference")]


def row(entry) -> list[str]:
    """One entry as cells. Entries mask what they hold (apps.casefile.entries); every cell
    goes through mask_text again, so an export never carries a whole phone or ID number
    whatever a new column holds (an export leaves the system: PIPL Art. 51)."""
    return [mask_text(cell) for cell in _cells(entry)]


def _cells(entry) -> list[str]:
    return [
        local_second(entry.at),
        entry.source_label,
        str(entry.object_label),
        entry.kind_label,
        entry.actor_name,
        entry.actor_role,
        entry.reason,
        entry.changes_text,
        entry.ref,
    ]


def _safe(value: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    return "'" + value if value[:1] in {"=", "+", "-", "@"} else value


class _Echo:
    def write(self, value):
        return value


def csv_response(entries, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # BOM: Excel opens UTF-8 Chinese text correctly
        yield writer.writerow(header())
        for entry in entries:
            yield writer.writerow([_safe(v) for v in row(entry)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(entries, filename: str) -> FileResponse:
    import xlsxwriter

    out = tempfile.TemporaryFile()
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    sheet = workbook.add_worksheet(_("history")[:31])
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, header(), bold)
    for i, entry in enumerate(entries, start=1):
        sheet.write_row(i, 0, row(entry))
    workbook.close()
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=f"{filename}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
