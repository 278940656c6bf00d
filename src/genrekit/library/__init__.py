"""Music libraries: genre tags written safely (journal, undo), a prediction store."""
