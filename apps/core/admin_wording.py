"""Django's own admin wording, as the product says it in Chinese.

Django's Simplified Chinese catalogue lags its templates ("Model name", "Add link" and the
user add page's note are not in it, so they show in English) and words some things
mechanically ("选择 诉求 来修改", "修改 诉求", "以 状态", "无可选的", "注销" for signing out).
The project catalogue (locale/zh_Hans) takes precedence over Django's, so it carries the
product's wording for these msgids. They are listed here only so that makemessages finds
them in our sources and keeps them (it drops msgids it cannot find); the module is never
imported. The msgids must match Django's (django.contrib.admin, django.contrib.auth,
django-simple-history, django.core.validators) character for character, typographic
apostrophes included.

Titles that English also words badly ("Select appeal to change") are fixed in the
templates instead (apps/core/templatetags/admin_titles.py).
"""

from django.utils.translation import gettext_noop, ngettext_lazy

ADMIN_MSGIDS = [
    # Page titles and buttons (a space around the name in Django's catalogue).
    gettext_noop("Select %s"),
    gettext_noop("Add %s"),
    gettext_noop("Change %s"),
    gettext_noop("View %s"),
    gettext_noop("Add %(name)s"),
    gettext_noop("Add"),
    gettext_noop("%(app)s administration"),
    gettext_noop("Change history: %s"),
    gettext_noop("View history: %s"),
    gettext_noop("Error:"),
    # The app list's table headers (read by screen readers; missing from Django's catalogue).
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Models in the %(name)s application"),
    gettext_noop("Breadcrumbs"),
    # Header.
    gettext_noop("Welcome,"),
    gettext_noop("Log out"),
    # Changelists: filters, actions, counts, sorting.
    gettext_noop(" By %(filter_title)s "),
    gettext_noop("Filter"),
    gettext_noop("Action:"),
    gettext_noop("Run the selected action"),
    gettext_noop("No action selected."),
    gettext_noop("0 of %(cnt)s selected"),  # worded as the script words it once something is ticked
    gettext_noop("Items must be selected in order to perform actions on them. No items have been changed."),
    ngettext_lazy("%(counter)s result", "%(counter)s results", "counter"),
    gettext_noop("%(full_result_count)s total"),
    gettext_noop("Toggle sorting"),
    gettext_noop("Remove from sorting"),
    gettext_noop("Sorting priority: %(priority_number)s"),
    gettext_noop("Has date"),
    gettext_noop("No date"),
    gettext_noop("Start typing to filter…"),
    # The index page's box of the user's own admin log.
    gettext_noop("Recent actions"),
    gettext_noop("My actions"),
    gettext_noop("None available"),
    # Change forms and related-object buttons ("取消选中" in Django's catalogue means "deselect").
    gettext_noop("Save and add another"),
    gettext_noop("Save as new"),
    gettext_noop("You may edit it again below."),
    gettext_noop("Add another %(verbose_name)s"),
    gettext_noop("Add another %(model)s"),
    gettext_noop("Change selected %(model)s"),
    gettext_noop("View selected %(model)s"),
    gettext_noop("Delete selected %(model)s"),
    # History pages (django-simple-history).
    gettext_noop("Changes"),
    ngettext_lazy("entry", "entries", "counter"),
    # Form errors ("确保该变量包含不超过 2000 字符": "this variable" in Django's catalogue).
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
    # Sign-in, signing out and passwords.
    gettext_noop("Logged out"),
    gettext_noop("Thanks for spending some quality time with the web site today."),
    gettext_noop(
        "Please enter the correct %(username)s and password for a staff account. Note that both fields may be "
        "case-sensitive."
    ),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        "min_length",
    ),
]
