"""Small, named, independent filters (language, text quality, URL, image)."""
