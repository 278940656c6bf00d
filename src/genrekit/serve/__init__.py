"""HTTP serving: ``create_app(classifier)`` (FastAPI) and the web page."""
