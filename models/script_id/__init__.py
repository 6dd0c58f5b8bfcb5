"""Script identification: a tiny CNN that labels an upright word crop hangul / latin / digits / other."""
