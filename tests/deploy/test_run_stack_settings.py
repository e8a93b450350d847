"""deploy/run-stack refuses to start without an instance path of its own: Settings' default
(``./instance``) would put beat's schedule into the repository's ``instance/``."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.tasks.helpers import ROOT


def test_run_stack_needs_an_instance_path(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env.update({
        "LOYALTY_DATABASE_URL": "postgresql+psycopg://loyalty@127.0.0.1:1/none",
        "LOYALTY_REDIS_URL": "redis://127.0.0.1:1/0",
        "LOYALTY_SECRET_KEY": "s",
        "LOYALTY_COUPON_SIGNING_KEY_FILE": str(tmp_path / "coupon.pem"),
    })
    result = subprocess.run([sys.executable, str(ROOT / "deploy" / "run-stack")], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "--instance-path or LOYALTY_INSTANCE_PATH" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written before refusing
