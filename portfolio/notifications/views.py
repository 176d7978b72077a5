"""The "News" page, the e-mail settings, and the links in mails (confirm, unsubscribe)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio.auth.forms import ConfirmForm
from portfolio.extensions import csrf, limiter
from portfolio.i18n import _
from portfolio.notifications import bp, preferences, services
from portfolio.notifications.forms import MailSettingsForm


@bp.app_context_processor
def inject_unread_count():
    """`unread_news()` for the navigation: one COUNT per page, only when used."""

    def unread_news() -> int:
        if not current_user or not current_user.is_authenticated:
            return 0
        return services.unread_count(current_user)

    return {"unread_news": unread_news}


def _me():
    return current_user._get_current_object()


@bp.route("/")
@login_required
def index():
    user = _me()
    notes = services.recent(user)
    items = [
        {
            "note": n,
            "text": services.message(n, user),
            "url": services.target_url(user, n),
            "new": n.read_at is None,
        }
        for n in notes
    ]
    page = render_template(
        "notifications/index.html", items=items, adult=preferences.is_adult(user)
    )
    # Seeing the list counts as reading it; the "new" marks stay for this visit (marked
    # after rendering, so the page shows them as they were).
    if any(item["new"] for item in items):
        services.mark_read(user, [item["note"].id for item in items if item["new"]])
    return page


# -- e-mail settings ----------------------------------------------------------------------------
def _sent_a_link(response) -> bool:
    return bool(g.get("confirmation_sent"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
@limiter.limit(
    "10 per hour",
    key_func=lambda: f"mail-confirm:{current_user.id}",
    methods=["POST"],
    deduct_when=_sent_a_link,
    scope="mail-confirm",
)
def settings():
    user = _me()
    form = MailSettingsForm()
    if not form.is_submitted():
        form.email.data = user.email or ""
        form.frequency.data = preferences.frequency(user)
    if form.validate_on_submit():
        try:
            outcome = preferences.set_address(user, form.email.data or "")
        except preferences.AddressError as error:
            form.email.errors = [str(error)]
        else:
            preferences.set_frequency(user, form.frequency.data)
            g.confirmation_sent = outcome == "sent"
            flash(_settings_message(outcome, user), "success")
            return redirect(url_for(".settings"))
    return _settings_page(user, form)


def _settings_message(outcome: str, user) -> str:
    if outcome == "sent":
        return _(
            "Saved. We have sent a link to %(address)s: please open it within %(days)d days "
            "to confirm the address.",
            address=user.email,
            days=preferences.CONFIRM_DAYS,
        )
    if outcome == "removed":
        return _("Saved. The e-mail address has been removed: no more e-mails.")
    return _("Saved.")


def _settings_page(user, form, status: int = 200):
    return render_template(
        "notifications/settings.html",
        form=form,
        user=user,
        adult=preferences.is_adult(user),
        mail_enabled=preferences.mail_enabled(),
        confirmed=preferences.has_confirmed_address(user),
        default=preferences.default_frequency(user),
        labels=preferences.FREQUENCY_LABELS,
        resend=ConfirmForm(),
    ), status


@bp.route("/settings/resend", methods=["POST"])
@login_required
@limiter.limit(
    "10 per hour",
    key_func=lambda: f"mail-confirm:{current_user.id}",
    deduct_when=_sent_a_link,
    scope="mail-confirm",
)
def resend():
    user = _me()
    if ConfirmForm().validate_on_submit() and preferences.send_confirmation(user):
        g.confirmation_sent = True
        flash(
            _(
                "We have sent a new link to %(address)s. It works for %(days)d days.",
                address=user.email,
                days=preferences.CONFIRM_DAYS,
            ),
            "success",
        )
    return redirect(url_for(".settings"))


# -- links in mails: they work without logging in ---------------------------------------------
@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Confirm an address with the link from the mail (a button, so that mail scanners
    that open links do not confirm for the reader)."""
    user, address, state = preferences.read_confirm_token(token)
    if state != "ok":
        return render_template("notifications/confirm.html", state=state), 410
    form = ConfirmForm()
    if form.validate_on_submit():
        preferences.confirm(user, address)
        return redirect(url_for(".confirm", token=token))
    confirmed = user.email_confirmed_at is not None
    return render_template(
        "notifications/confirm.html",
        state="done" if confirmed else "ok",
        address=address,
        form=form,
    )


@bp.route("/email/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail programs POST without a form (RFC 8058)
def unsubscribe(token: str):
    user = preferences.read_unsubscribe_token(token)
    if user is None:
        abort(404)
    if request.method == "POST":
        preferences.unsubscribe(user)
        return redirect(url_for(".unsubscribe", token=token))
    return render_template(
        "notifications/unsubscribe.html",
        done=preferences.frequency(user) == preferences.NEVER,
        form=ConfirmForm(),
    )
