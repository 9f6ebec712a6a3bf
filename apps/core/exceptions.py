"""Domain errors raised by services. Views and the admin turn them into messages."""

from django.core.exceptions import PermissionDenied
from django.http import Http404


class DomainError(Exception):
    """A business rule refused the action. The message is shown to the user as is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return str(self.message)


class InvalidTransition(DomainError):
    """The object is not in a state that allows this action."""


class StaleObject(DomainError):
    """Someone else changed the object since the form was opened."""


class NotPermitted(PermissionDenied):
    """The actor may see the object but not take this action (403)."""


class NotFoundForActor(Http404):
    """The object does not exist, or the actor may not see it: the same answer (404)."""


class AuditBypassError(RuntimeError):
    """A write tried to skip history (QuerySet.update/delete on an audited model)."""
