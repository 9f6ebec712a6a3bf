"""Admin page titles that read like titles.

Django titles a list "Select appeal to change" (or "... to view") and an object page
"Change appeal" whenever the user holds the change permission, even when every field is
read-only and the page only shows (status changes go through the action buttons). The
base template asks page_title() instead of using `title` directly: a list is titled by
its plural name ("Appeals", "诉求"), a page with nothing to edit "View appeal". A title a
view sets itself is kept.
"""

from __future__ import annotations

from django import template
from django.utils.text import capfirst
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag(takes_context=True)
def page_title(context) -> str:
    title = str(context.get("title") or "")
    changelist = context.get("cl")
    if changelist is not None and not context.get("is_popup") and title == str(changelist.title):
        return capfirst(changelist.opts.verbose_name_plural)
    opts, adminform = context.get("opts"), context.get("adminform")
    if opts is not None and adminform is not None and context.get("change") and not context.get("add"):
        nothing_to_edit = not adminform.form.fields and not context.get("has_editable_inline_admin_formsets")
        if nothing_to_edit and title == gettext("Change %s") % opts.verbose_name:
            return gettext("View %s") % opts.verbose_name
    return title
