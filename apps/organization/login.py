from django.utils import timezone


def record_last_login(sender, user, **kwargs):
    """Set last_login without a history row (logins are recorded in the action log)."""
    user.last_login = timezone.now()
    user.skip_history_when_saving = True
    try:
        user.save(update_fields=["last_login"])
    finally:
        del user.skip_history_when_saving
