"""The run viewer: HTML pages and their own JSON calls, served by the API on both runtimes."""
