"""Give every Celery task run a request id, so its action-log rows can be traced."""

from celery.signals import task_postrun, task_prerun

from apps.core.request_context import client_ip_var, request_id_var

_tokens: dict[str, tuple] = {}


@task_prerun.connect
def _set_task_context(task_id=None, **kwargs):
    _tokens[task_id] = (request_id_var.set(f"task-{task_id}"), client_ip_var.set(None))


@task_postrun.connect
def _reset_task_context(task_id=None, **kwargs):
    tokens = _tokens.pop(task_id, None)
    if tokens:
        request_id_var.reset(tokens[0])
        client_ip_var.reset(tokens[1])
