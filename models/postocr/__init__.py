"""Post-OCR: clustering (lines, blocks, reading order, key->value), named entities, templates."""
