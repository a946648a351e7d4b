"""The translation server: LibreTranslate's HTTP API, a native API and a web page."""
