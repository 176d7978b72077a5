"""Uploaded documents: certificates, report cards, CV and applications (Dokumentation)."""
