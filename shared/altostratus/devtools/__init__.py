"""Tools for developing against Altostratus without external services (the offline demo, tests)."""
