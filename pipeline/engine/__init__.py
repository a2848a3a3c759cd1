"""Where OCR happens: bytes to a document (sniff, decode or render, page geometry, recognise, clean)."""
