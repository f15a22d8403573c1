"""How runs are recorded: the video's frame rate and size, how often it is written, the trace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RecordingSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # A video of every run's browser (the active tab, as rendered).
    video: bool = True
    # Frames per second of the video, a constant rate: a still page repeats its last frame,
    # which costs almost nothing once encoded. A few frames a second show every step.
    fps: float = Field(default=4.0, gt=0, le=30)
    # The largest picture; a bigger viewport is scaled down to fit, keeping its proportions.
    max_width: int = Field(default=1280, ge=64, le=3840)
    max_height: int = Field(default=720, ge=64, le=2160)
    # The video so far is stored this often, so a crash loses at most about this much of it.
    flush_seconds: float = Field(default=5.0, gt=0)
    # A Playwright trace of each slice (actions, DOM snapshots, network), off by default: it
    # is large, and meant for debugging a run.
    trace: bool = False
