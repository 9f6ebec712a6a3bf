"""The citizen's progress page (办理进度查询): public, outside the admin.

Tracking number + the last four digits of the phone → a plain-language timeline. No
personal data, no staff or internal notes. An unknown number and a wrong phone get the
same answer after the same work; lookups are throttled per address and per number.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from apps.followups import selectors


class ProgressForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=20,
        validators=[RegexValidator(r"^\d{8}-\d{6}$", _("A tracking number looks like 20260310-000123."))],
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "20260310-000123"}),
    )
    phone_last4 = forms.CharField(
        label=_("Last four digits of your phone"),
        max_length=4,
        validators=[RegexValidator(r"^\d{4}$", _("Enter the last four digits of the phone you called from."))],
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 4}),
    )


def _number_key(group, request):
    return "n:" + (request.POST.get("tracking_number") or "").strip()[:20]


def _limited(request) -> bool:
    # Both counters advance on every lookup, so neither can be probed for free.
    by_ip = is_ratelimited(
        request, group="progress-ip", key="ip", rate=settings.PROGRESS_RATE_PER_IP, method="POST", increment=True
    )
    by_number = is_ratelimited(
        request,
        group="progress-number",
        key=_number_key,
        rate=settings.PROGRESS_RATE_PER_NUMBER,
        method="POST",
        increment=True,
    )
    return by_ip or by_number


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def progress(request):
    with translation.override("zh-hans"):
        form = ProgressForm(request.POST or None)
        steps, not_found, status, number = None, False, 200, ""
        if request.method == "POST":
            if _limited(request):
                status = 429
            elif form.is_valid():
                steps = selectors.progress_timeline(
                    form.cleaned_data["tracking_number"], form.cleaned_data["phone_last4"]
                )
                not_found = steps is None
                number = form.cleaned_data["tracking_number"]
                form = ProgressForm()  # never echo the digits back
        response = render(
            request,
            "followups/progress.html",
            {
                "form": form,
                "steps": steps,
                "not_found": not_found,
                "limited": status == 429,
                "number": number if steps else "",
            },
            status=status,
        )
    response["X-Robots-Tag"] = "noindex"
    return response
