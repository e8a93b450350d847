"""The Celery app, bound to Flask so every task runs inside an app context.

Embedded default (no ``LOYALTY_REDIS_URL``): tasks run eagerly, in the caller's process.
Production: Redis is the broker; one ``celery beat`` schedules the periodic tasks.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask

from loyalty.config import Settings


def init_celery(app: Flask, settings: Settings) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    if settings.tasks_in_process:
        celery_app.conf.update(task_always_eager=True, task_eager_propagates=True,
                               broker_url="memory://", result_backend=None)
    else:
        celery_app.conf.update(broker_url=settings.redis_url, task_ignore_result=True,
                               broker_connection_retry_on_startup=True)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
