"""Views: the HTML pages (``pages``), the JSON API (``api``), the Simple API (``simple``),
the RSS feeds (``feeds``), the page cache (``cache``) and shared answers (``responses``)."""
