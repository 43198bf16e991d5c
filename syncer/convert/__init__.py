"""Turn source content into the clean HTML Fin reads; see the modules for each format."""

# Bump whenever any converter here changes its output for the same input: every page
# is then re-sent once, because the version is part of the content hash.
CONVERTER_VERSION = "3"
