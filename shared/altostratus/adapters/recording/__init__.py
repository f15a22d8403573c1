"""What a run leaves to watch: a video of its browser (`recorder`, `video`), and a Playwright
trace when asked for (`trace`). Import the modules themselves: the video needs PyAV and the
browser, which only the agent's image has."""
