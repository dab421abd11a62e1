"""Browser tests: the real pages in a headless Chromium (Debian's), driven by Playwright."""
