"""The school's day: dates in German time, whatever the server's clock is set to.

NRW schools live in Europe/Berlin. A server on UTC (containers usually are) starts the next
day at 01:00 or 02:00 German time: between midnight and then, a pupil's due steps, an
overdue goal, a consent age, the "left on" a form suggests and the date in a file name
would still be yesterday's. Every "today" of the app comes from here (`today`); functions
that take `today=` let tests and commands choose the day. Times stored in the database
stay UTC (`models.base.utcnow`); pages show them in this zone (Flask-Babel).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

#: The zone of every school the app serves (NRW), by its IANA name.
SCHOOL_TIMEZONE = "Europe/Berlin"
SCHOOL_TZ = ZoneInfo(SCHOOL_TIMEZONE)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now() -> dt.datetime:
    """The time now, in the school's zone (aware)."""
    return _utc_now().astimezone(SCHOOL_TZ)


def today() -> dt.date:
    """The school's date today."""
    return now().date()


def midnight(day: dt.date) -> dt.datetime:
    """When `day` begins at school, in UTC (to compare with stored times)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SCHOOL_TZ).astimezone(dt.UTC)
