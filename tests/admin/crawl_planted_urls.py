"""A tiny admin-like site with planted faults, for proving that the crawler finds them
(tests/admin/test_crawl.py). `HITS` records every path fetched."""

import io

from django.http import FileResponse, HttpResponse, HttpResponseForbidden, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path

HITS: list[str] = []

INDEX = """<html><body>
<ul class="object-tools"><li><a href="/admin/ok/">fine</a></li><li><a href="/admin/forbidden/">forbidden</a></li></ul>
<a href="/admin/missing/">missing</a> <a href="/admin/boom/">boom</a>
<a href="/admin/moved/">moved</a> <a href="/admin/to-login/">sends to login</a>
<a href="/admin/export/?format=csv" class="button">export</a>
<a href="/admin/export/?format=broken" class="button">broken export</a>
<a href="/admin/export/?format=xlsx" class="button">Excel export</a>
<a href="/admin/masked/">a masked number</a> 138****5678
<a href="/admin/logout/">log out</a> <a href="/elsewhere/">outside</a> <a href="#top">anchor</a>
<table id="result_list"><thead><tr><th><a href="/admin/?o=1">sort</a></th></tr></thead><tbody>
<tr><th><a href="/admin/row/1/">row 1</a></th></tr>
<tr><th><a href="/admin/row/2/">row 2</a></th></tr>
<tr><th><a href="/admin/row/3/">row 3 (beyond the bound, not followed)</a></th></tr>
</tbody></table>
<select name="appeal" class="admin-autocomplete" data-ajax--url="/admin/autocomplete/"
  data-app-label="planted" data-model-name="thing" data-field-name="appeal"></select>
</body></html>"""


def _page(html: str):
    def view(request, **kwargs):
        HITS.append(request.get_full_path())
        return HttpResponse(html)

    return view


def _forbidden(request, **kwargs):
    HITS.append(request.get_full_path())
    return HttpResponseForbidden("no")


def _boom(request):
    HITS.append(request.get_full_path())
    raise RuntimeError("planted error")


def _xlsx():
    """An Excel file whose one cell holds a whole ID number (for the scan's own test)."""
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    workbook.add_worksheet().write_row(0, 0, ["身份证", "11010519491231002X"])
    workbook.close()
    return out.getvalue()


def _export(request):
    HITS.append(request.get_full_path())
    if request.GET.get("format") == "xlsx":
        return FileResponse(io.BytesIO(_xlsx()), as_attachment=True, filename="x.xlsx")

    def rows():
        yield "a,b\n"
        if request.GET.get("format") == "broken":
            raise ValueError("planted export failure")

    return StreamingHttpResponse(rows(), content_type="text/csv")


def _row(request, pk):
    return _forbidden(request) if pk == 3 else _page("<p>a row</p>")(request)


urlpatterns = [
    path("admin/", _page(INDEX)),
    path(
        "admin/ok/",
        _page(
            '<a href="/admin/deeper/">deeper</a> <a href="/admin/forbidden/">again</a> <a href="/admin/leak/">leak</a>'
        ),
    ),
    path("admin/leak/", _page("<p>citizen 13812345678</p>")),  # a whole number one link down
    path("admin/masked/", _page("<p>citizen 138****5678, 110105********002X</p>")),
    path("admin/deeper/", _forbidden),
    path("admin/forbidden/", _forbidden),
    path("admin/boom/", _boom),
    path("admin/moved/", lambda request: redirect("/admin/ok/")),
    path("admin/to-login/", lambda request: redirect("/admin/login/?next=/admin/to-login/")),
    path("admin/export/", _export),
    path("admin/row/<int:pk>/", _row),
    path("admin/autocomplete/", _forbidden),
    path("admin/logout/", _page("logged out")),
    path("elsewhere/", _page("outside the admin")),
]
