from celery import shared_task


@shared_task(name="audit.verify_chain", ignore_result=True)
def verify_chain_nightly() -> dict:
    """Nightly (beat): verify the action log's hash chain; a break raises a ChainAlert."""
    from apps.audit.services import chain_check
    from apps.organization.services import system_actor

    report = chain_check(actor=system_actor(), source="nightly")
    return {"ok": report.ok, "checked": report.checked, "broken_seq": report.broken_seq}
