"""The staff side of review: class overviews, the pupil view, comments, dashboards, reports."""
