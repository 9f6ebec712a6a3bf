"""simple-history's manager class is built once, not on every history row written."""

from apps.appeals.models import Appeal
from apps.tasks.models import Task


def test_the_history_manager_class_is_reused():
    assert type(Appeal.history) is type(Appeal.history)
    assert type(Task.history) is type(Task.history)
    # Still a working manager, bound to the right historical model.
    assert Appeal.history.model is Appeal.history.model and Appeal.history.model.__name__ == "HistoricalAppeal"
