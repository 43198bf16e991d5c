"""Turn source content into the clean HTML Fin reads; see the modules for each format."""

# Bump whenever any converter here changes its output for the same input. It is part of
# every file version a file connector lists (``syncer.convert.stamp.render_stamp``), so
# each file is read and converted again once; the content hash (of what is sent, not of
# this version) then re-sends only the pages whose output changed.
# 5: PDF, DOCX and PPTX converted by their bytes, never as text. 6: MkDocs raw HTML's URLs
# resolved from the page's URL (images it dropped now land), its title H1's id kept.
CONVERTER_VERSION = "6"
