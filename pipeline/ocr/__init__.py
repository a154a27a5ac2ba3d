"""OCR: rendered training images of corpus text and PDF pages, read back by rapidocr."""
