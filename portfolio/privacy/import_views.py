"""The school admin imports a take-away package from another school (/admin/import).

Upload -> the package is checked and kept for an hour under a token, with a preview of
what it brings (pupil, entries by kind, files, agreements, guidance, what is refused
and why, whether it is partial) -> the admin chooses a class, confirms a partial
package, and imports. The new pupil's initial password is shown once on the result page.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portfolio import access, accounts, kinds
from portfolio.extensions import csrf
from portfolio.i18n import _
from portfolio.models import EntryKind, SchoolClass
from portfolio.privacy import bp, package_check, package_import, portability
from portfolio.privacy.forms import PackageImportForm, PackageUploadForm
from portfolio.security import larger_body
from portfolio.tempfiles import TokenFiles

#: Largest package the page accepts when the app has no MAX_IMPORT_BYTES setting.
MAX_IMPORT_BYTES = 200 * 1024 * 1024


larger_body("privacy.import_upload", "MAX_IMPORT_BYTES")


class PackageUploads(TokenFiles):
    """Packages waiting for the import: instance/package-uploads/<token>.{bin,json}."""

    subfolder = "package-uploads"
    max_age = 3600


def _require_admin() -> None:
    access.require(access.can_import_packages(current_user))


def _max_bytes() -> int:
    return int(current_app.config.get("MAX_IMPORT_BYTES") or MAX_IMPORT_BYTES)


def _upload_page(form: PackageUploadForm, status: int = 200, error: str | None = None):
    return (
        render_template(
            "privacy/import_upload.html",
            form=form,
            error=error,
            max_mb=_max_bytes() // (1024 * 1024),
        ),
        status,
    )


@bp.route("/admin/import", methods=["GET", "POST"])
@csrf.exempt  # the form checks its CSRF token, read under the larger size limit
@login_required
def import_upload():
    _require_admin()
    if request.method == "GET":
        return _upload_page(PackageUploadForm())
    form = PackageUploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400)
    store = PackageUploads()
    token = store.put_stream(
        form.package.data.stream,
        user_id=current_user.id,
        school_id=current_user.school_id,
        filename=(form.package.data.filename or "")[:200],
    )
    try:
        found = package_check.preview(str(store.path(token, user_id=current_user.id)), _school())
    except portability.PortabilityError as error:
        store.delete(token)
        return _upload_page(form, 400, error=str(error))
    store.update(token, user_id=current_user.id, preview=found.to_json())
    return redirect(url_for("privacy.import_package", token=token))


def _school():
    return current_user.school


def _classes() -> list[SchoolClass]:
    return accounts.year_classes(_school())


def _import_form(classes: list[SchoolClass]) -> PackageImportForm:
    form = PackageImportForm()
    form.class_id.choices = [("", _("No class yet"))] + [(str(c.id), c.name) for c in classes]
    return form


@bp.route("/admin/import/<token>", methods=["GET", "POST"])
@login_required
def import_package(token: str):
    _require_admin()
    store = PackageUploads()
    meta = store.meta(token, user_id=current_user.id)
    path = store.path(token, user_id=current_user.id)
    if meta is None or path is None or meta.get("school_id") != current_user.school_id:
        flash(
            _(
                "The uploaded package is no longer here (it is kept for one hour). Please "
                "upload it again."
            ),
            "warning",
        )
        return redirect(url_for("privacy.import_upload"))
    preview = package_check.Preview.from_json(meta["preview"])
    classes = _classes()
    form = _import_form(classes)
    status = 200
    if form.validate_on_submit():
        if preview.partial and not form.accept_partial.data:
            form.accept_partial.errors.append(
                _("Please confirm that you import a package that is not the whole portfolio.")
            )
            status = 400
        else:
            result, error = _run_import(path, form, classes)
            if result is not None:
                store.delete(token)
                return render_template("privacy/import_done.html", result=result)
            flash(error, "error")
            status = 400
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "privacy/import_preview.html",
            preview=preview,
            form=form,
            filename=meta.get("filename", ""),
            kind_label=_kind_label,
            token=token,
        ),
        status,
    )


def _run_import(path, form: PackageImportForm, classes: list[SchoolClass]):
    """(ImportResult, None), or (None, the reason) when the package cannot be imported."""
    chosen = next((c for c in classes if str(c.id) == (form.class_id.data or "")), None)
    try:
        result = package_import.import_zip(
            str(path),
            _school(),
            class_name=chosen.name if chosen else None,
            actor=current_user._get_current_object(),
            accept_partial=bool(form.accept_partial.data),
        )
    except portability.PortabilityError as error:
        return None, str(error)  # import_zip rolled back and removed its files
    # The request commits; if that fails, import_zip's rollback hook removes the files.
    return result, None


def _kind_label(kind: str) -> str:
    try:
        return str(kinds.SPECS[EntryKind(kind)].label)
    except (KeyError, ValueError):
        abort(400)
