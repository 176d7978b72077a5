"""The school's day begins at midnight in Germany, whatever zone the server runs in."""

import datetime as dt

import pytest

from portfolio import clock, progress

#: (the time in UTC, the school's date then): winter (UTC+1) and summer (UTC+2).
MOMENTS = [
    ((2026, 12, 31, 22, 59), dt.date(2026, 12, 31)),
    ((2026, 12, 31, 23, 0), dt.date(2027, 1, 1)),
    ((2026, 7, 1, 21, 59), dt.date(2026, 7, 1)),
    ((2026, 7, 1, 22, 0), dt.date(2026, 7, 2)),
]


def _at(monkeypatch, utc: tuple) -> None:
    monkeypatch.setattr(clock, "_utc_now", lambda: dt.datetime(*utc, tzinfo=dt.UTC))


@pytest.mark.parametrize(("utc", "day"), MOMENTS)
def test_today_is_the_date_in_germany(monkeypatch, utc, day):
    _at(monkeypatch, utc)
    assert clock.today() == day
    assert progress.current_date() == day  # the day progress is computed for
    assert clock.midnight(day) <= clock.now() < clock.midnight(day + dt.timedelta(days=1))


def test_pages_use_the_school_day(world, client_for, monkeypatch):
    """Half past midnight on New Year's Day in Germany, 23:30 on New Year's Eve in UTC: the
    StuBO's export is named for the new year, and the leaving form suggests that day."""
    _at(monkeypatch, (2026, 12, 31, 23, 30))
    client = client_for(world.stubo)
    disposition = client.get("/review/school.csv").headers["Content-Disposition"]
    assert "berufswahlpass-uebersicht-2027-01-01.csv" in disposition
    html = client_for(world.admin).get(f"/admin/leaving/{world.pupil.id}").get_data(as_text=True)
    assert 'value="2027-01-01"' in html


def test_schedules_run_in_german_time():
    """The nightly progress refresh at 04:00 and the digest at 05:30 are German times;
    the queue's consumer passes naive UTC times to the schedule."""
    from portfolio.jobs import queue

    four = queue.crontab(hour="4", minute="0")
    assert four(dt.datetime(2026, 12, 5, 3, 0))  # 04:00 CET
    assert not four(dt.datetime(2026, 12, 5, 4, 0))  # 05:00 CET
    assert four(dt.datetime(2026, 7, 5, 2, 0))  # 04:00 CEST
    assert queue.crontab(minute="*/10")(dt.datetime(2026, 7, 5, 2, 20))
