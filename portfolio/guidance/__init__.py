"""Guidance records (Beratung): staff record sessions, the pupil adds notes."""
