"""The production path: outbox -> relay -> Redis -> a real Celery worker -> the SMTP server."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import replace

import pytest
import redis

from loyalty.app import create_app
from loyalty.db import unit_of_work
from loyalty.messaging.models import Message, MessageStatus
from loyalty.messaging.services import send_message
from loyalty.outbox.tasks import deliver_outbox
from tests.messaging.conftest import OFFER, consenting_member
from tests.services import require_redis
from tests.tasks.helpers import ROOT, app_env, stop, wait_for

pytestmark = pytest.mark.redis


def test_a_real_worker_sends_the_email_and_logs_no_contact_data(
    db, settings, sessions, smtp, tmp_path
):
    redis_url = require_redis()
    handler, port = smtp
    queue = f"loyalty-test-{uuid.uuid4().hex[:12]}"
    member = consenting_member(db, settings, channel="email", email="hana@example.net",
                               name="Hana Rahimi")
    db.commit()
    with unit_of_work(sessions) as session:
        message_id = send_message(session, member.id, "coupon_offer", OFFER, "campaign:9").id

    app = create_app(replace(settings, redis_url=redis_url))
    app.extensions["celery"].conf.task_default_queue = queue
    env = {**app_env(settings, redis_url), "LOYALTY_LOG_LEVEL": "INFO",
           "LOYALTY_SMTP_HOST": "127.0.0.1", "LOYALTY_SMTP_PORT": str(port),
           "LOYALTY_SMTP_STARTTLS": "false", "LOYALTY_MAIL_FROM": settings.mail_from,
           "LOYALTY_MESSAGING_QUIET_HOURS": ""}
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "loyalty.celery_app:celery", "worker",
             "--pool", "solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel", "INFO",
             "--without-mingle", "--without-gossip", "--without-heartbeat"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert len(deliver_outbox(app).delivered) == 1
        wait_for(lambda: len(handler.received) == 1, 30, "the worker to send the email")

        def status() -> MessageStatus:
            with sessions() as s:
                return s.get(Message, message_id).status

        wait_for(lambda: status() is MessageStatus.SENT, 10, "the worker to record it")
        assert worker.poll() is None, "the worker died"
    except AssertionError:
        print(log.read_text()[-4000:])
        raise
    finally:
        stop(worker)
        redis.Redis.from_url(redis_url).delete(queue)
        app.extensions["loyalty.db"].engine.dispose()
    lines = log.read_text()
    assert f"message {message_id} (email, attempt 1): sent" in lines
    for secret in ("hana@example.net", "Hana", "FRUIT20"):
        assert secret not in lines
