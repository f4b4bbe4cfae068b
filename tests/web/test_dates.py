"""The pages' date filters write what Django's ``date`` filter wrote, in any time zone."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.template import Context, Template
from django.test import override_settings

MOMENTS = [
    datetime(2024, 12, 31, 23, 59, 58, tzinfo=UTC),
    datetime(2009, 1, 5, 0, 0, 7, 999999, tzinfo=UTC),
    datetime(2020, 2, 29, 12, 30, tzinfo=timezone(timedelta(hours=-7))),
    datetime(999, 7, 4, 1, 2, 3, tzinfo=UTC),
    datetime(2021, 3, 14, 15, 9, 26),  # naive: shown as it is
    None,
    "",
]
DJANGO = '{{ m|date:\'Y-m-d\\TH:i:s\\Z\' }}|{{ m|date:"M j, Y" }}|{{ m|date:"M j, Y H:i" }}'
OURS = "{% load catalog_dates %}{{ m|date_stamp }}|{{ m|date_day }}|{{ m|date_minute }}"


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_filters_equal_the_date_filter(zone, moment):
    with override_settings(TIME_ZONE=zone):
        expected = Template(DJANGO).render(Context({"m": moment}))
        assert Template(OURS).render(Context({"m": moment})) == expected
    if isinstance(moment, datetime):
        assert expected.count("|") == 2 and len(expected) > 20
