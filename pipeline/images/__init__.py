"""Image download: polite, SSRF-guarded HTTP fetching of images the WARCs did not archive."""
