"""Business rules that need no app: subscriptions and SIREN."""

import pytest

from webapp.services.billing import Usage
from webapp.services.billing import required_subscription
from webapp.services.members import siren_is_valid


@pytest.mark.parametrize(
    ("used", "pools", "subscribed"),
    [(0, 0, 100), (100, 0, 100), (101, 1, 150), (150, 1, 150), (151, 2, 200), (5000, 98, 5000)],
)
def test_minimum_package_then_pools(used, pools, subscribed):
    assert required_subscription(used, 100, 50) == (pools, subscribed)


def test_usage_over_subscription_needs_pools():
    usage = Usage(used=490, subscribed=400, pools=6, pool_size=50, yearly_eur=400)
    assert usage.over and usage.pools_needed == 2 and usage.percent == 122
    fine = Usage(used=90, subscribed=100, pools=0, pool_size=50, yearly_eur=100)
    assert not fine.over and fine.pools_needed == 0


@pytest.mark.parametrize("siren", ["732829320", "552100554"])
def test_valid_siren(siren):
    assert siren_is_valid(siren)


@pytest.mark.parametrize("siren", ["732829321", "12345678", "abcdefghi", "7328293200"])
def test_invalid_siren(siren):
    assert not siren_is_valid(siren)
