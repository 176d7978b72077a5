"""The "News" page: everyone's notifications, unread ones marked, opened ones read."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from portfolio.extensions import db
from portfolio.notifications import bp, services


@bp.app_context_processor
def inject_unread_count():
    """`unread_news()` for the navigation: one COUNT per page, only when used."""

    def unread_news() -> int:
        if not current_user or not current_user.is_authenticated:
            return 0
        return services.unread_count(current_user)

    return {"unread_news": unread_news}


@bp.route("/")
@login_required
def index():
    user = current_user._get_current_object()
    notes = services.recent(user)
    items = [
        {
            "note": n,
            "text": services.message(n),
            "url": services.target_url(user, n),
            "new": n.read_at is None,
        }
        for n in notes
    ]
    # Seeing the list counts as reading it; the "new" marks stay for this visit.
    if any(item["new"] for item in items):
        services.mark_read(user, [item["note"].id for item in items if item["new"]])
        db.session.commit()
    return render_template("notifications/index.html", items=items)
