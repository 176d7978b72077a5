"""PDF export: the whole portfolio, a chosen selection, the family summary, class ZIPs."""
