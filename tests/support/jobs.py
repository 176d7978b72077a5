"""Background jobs in tests: the queue is in memory (conftest) and runs when told to.

`run_jobs()` does what a worker does with every waiting message, in this process;
`follow(client, response)` walks a user's journey from the page that started a job to
its page and returns that page once the job has run.
"""

from __future__ import annotations

import re

from flask import current_app

from portfolio.jobs.queue import get_huey


def run_jobs(app=None) -> int:
    """Run every queued task here and now (as `flask jobs worker` would); how many ran."""
    huey = get_huey(app or current_app._get_current_object())
    count = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        count += 1
    return count


def job_url(response) -> str:
    """The job page a start request redirected to."""
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    assert re.search(r"/jobs/\d+$", location), location
    return location


def follow(client, response, *, run: bool = True):
    """Run the queued jobs, open the job page; returns (page HTML, download URL or None)."""
    url = job_url(response)
    if run:
        run_jobs()
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    found = re.search(r'href="(/jobs/\d+/download)"', html)
    return html, found.group(1) if found else None


def fetch(client, start_url: str, data: dict | None = None, **kwargs):
    """POST to a page that starts a job, run it, download the result (the response).

    A start that does not redirect to a job page (an error, a refusal) is returned as it
    is. `kwargs` (e.g. headers) go with every request, as a browser sends them."""
    started = client.post(start_url, data=data or {}, **kwargs)
    if started.status_code != 302 or not re.search(r"/jobs/\d+$", started.headers["Location"]):
        return started
    url = job_url(started)
    run_jobs(client.application)
    page = client.get(url, **kwargs)
    assert page.status_code == 200, page.status_code
    found = re.search(r'href="(/jobs/\d+/download)"', page.get_data(as_text=True))
    assert found, "the job page offers no download"
    return client.get(found.group(1), **kwargs)
