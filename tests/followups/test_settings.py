"""The followups settings refuse bad values at start-up, naming the variable."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from backoffice.env import envrate, envshare


def test_sampling_shares_and_rates(monkeypatch):
    assert envshare("XLX_TEST_SHARE", 0.1) == 0.1
    monkeypatch.setenv("XLX_TEST_SHARE", "0.25")
    assert envshare("XLX_TEST_SHARE", 0.1) == 0.25
    for bad in ["1.5", "-0.1", "ten"]:
        monkeypatch.setenv("XLX_TEST_SHARE", bad)
        with pytest.raises(ImproperlyConfigured, match="XLX_TEST_SHARE"):
            envshare("XLX_TEST_SHARE", 0.1)
    assert envrate("XLX_TEST_RATE", "20/h") == "20/h"
    monkeypatch.setenv("XLX_TEST_RATE", "5/10m")
    assert envrate("XLX_TEST_RATE", "20/h") == "5/10m"
    monkeypatch.setenv("XLX_TEST_RATE", "lots")
    with pytest.raises(ImproperlyConfigured, match="XLX_TEST_RATE"):
        envrate("XLX_TEST_RATE", "20/h")
