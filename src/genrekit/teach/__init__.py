"""Teaching genrekit a user's own genres: which songs to label next (``select``)."""
