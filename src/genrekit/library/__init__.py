"""Music libraries: genre tags written safely (journal, undo), a predictions catalog."""
