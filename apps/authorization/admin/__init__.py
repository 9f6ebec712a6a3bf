"""Admin pages of leadership authorization, one module per subject. Thin: read-only
fields, every change through a button (ObjectActionsMixin) or an add form
(ServiceModelForm) calling one service. Departments see only their own receipts and
invitations (404 otherwise); city leaders, inspectors and the centre read all."""

from apps.authorization.admin import adaptations, approvals, consultations, delegations, instructions

__all__ = ["adaptations", "approvals", "consultations", "delegations", "instructions"]
