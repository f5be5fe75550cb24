"""`clsweep run --dashboard` binds the dashboard to 127.0.0.1 and leaves Ray's token authentication on."""

from __future__ import annotations

import os
from typing import Any

import pytest

from clsweep.tune import launcher


@pytest.mark.parametrize("dashboard", [True, False])
def test_dashboard_is_local_and_authenticated(dashboard: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(launcher.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(launcher.ray, "init", lambda **kw: calls.append(kw) or object())
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    env_before = dict(os.environ)
    logged: list[str] = []
    assert launcher._init_ray(launcher.SweepOptions(name="x", dashboard=dashboard, log=logged.append))
    (kw,) = calls
    assert kw["include_dashboard"] is dashboard
    assert kw.get("dashboard_host") == ("127.0.0.1" if dashboard else None)
    assert "RAY_AUTH_MODE" not in kw.get("runtime_env", {}).get("env_vars", {})
    assert os.environ.get("RAY_AUTH_MODE") == env_before.get("RAY_AUTH_MODE")  # token auth left as Ray sets it
    assert all("0.0.0.0" not in m for m in logged)
    if dashboard:
        assert any("http://127.0.0.1:8265" in m and "token" in m for m in logged)
