"""`{{ value|masked }}`: a value as a page may show it, with every phone and ID number in it
masked (apps.core.personal_data.mask_text).

Used where values become text on the shared pages (a desk's panels and badges, the case
record, the inspector's trace page), so a field added to a panel is masked without anyone
having to remember. Masking only replaces digits by "*", so HTML a panel built with
format_html stays safe HTML.
"""

from django import template

from apps.core.admin_desk import shown

register = template.Library()


@register.filter
def masked(value):
    return shown(value)
