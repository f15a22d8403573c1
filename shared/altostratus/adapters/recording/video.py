"""A constant-frame-rate H.264 video made from JPEG frames, written out whole as an MP4.

Encoded packets are kept in memory (a still page costs a few hundred bytes a frame), and
`mp4()` muxes all of them into a complete file, its index first, so that every copy stored
while the run goes on plays and seeks in any browser. A new slice continues the stored video:
its packets are read back and the new frames follow them, provided the stored video has the
same encoding (size, rate, codec configuration).
"""

from __future__ import annotations

import io
import itertools
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream

CODEC = "libx264"
CONTENT_TYPE = "video/mp4"
# Screen content: fast to encode, no frames held back (each frame's packet comes out at once),
# a keyframe every few seconds so a player seeks without decoding far.
_OPTIONS = {"preset": "veryfast", "tune": "zerolatency", "crf": "30"}
_KEYFRAME_EVERY_S = 10.0


@dataclass(frozen=True)
class _Packet:
    data: bytes
    frame: int  # presentation index (no reordering: decode order is the same)
    keyframe: bool


def fit(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest even size within the maximum that keeps the picture's proportions."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def parameter_sets(extradata: bytes | None) -> frozenset[bytes]:
    """The SPS and PPS units of H.264 codec configuration, whether it is written as the
    encoder gives it (start codes) or as an MP4 stores it (an avcC record)."""
    data = bytes(extradata or b"")
    if not data:
        return frozenset()
    if data[0] != 1:  # start codes: 00 00 01 or 00 00 00 01 before each unit
        pieces = [u.lstrip(b"\0") for u in data.split(b"\0\0\1")]
        return frozenset(u.rstrip(b"\0") for u in pieces if u)
    units: list[bytes] = []
    pos = 5
    for count_mask in (0x1F, 0xFF):  # the SPS count's low five bits, then the PPS count
        if pos >= len(data):
            break
        count = data[pos] & count_mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(data[pos : pos + 2], "big")
            units.append(data[pos + 2 : pos + 2 + size])
            pos += 2 + size
    return frozenset(units)


def _start_codes(sample: bytes) -> bytes:
    """An MP4 sample (units behind 4-byte lengths) as the encoder writes packets (start codes),
    so that stored and new packets go through the muxer alike."""
    out = bytearray()
    pos = 0
    while pos + 4 <= len(sample):
        size = int.from_bytes(sample[pos : pos + 4], "big")
        if size == 0 or pos + 4 + size > len(sample):
            raise ValueError("not a sample of 4-byte-length units")
        out += b"\0\0\0\1" + sample[pos + 4 : pos + 4 + size]
        pos += 4 + size
    return bytes(out)


def frame_duration(fps: float) -> Fraction:
    return 1 / Fraction(fps).limit_denominator(1000)


class VideoTrack:
    """Frames in, MP4 out. Not thread-safe: one thread feeds and writes it."""

    def __init__(self, width: int, height: int, fps: float) -> None:
        self.width, self.height, self.fps = width, height, fps
        self._tick = frame_duration(fps)
        # The encoder lives in a container that writes nowhere: the container gives the
        # encoder the MP4 settings (global headers) and `mp4()` copies its parameters.
        self._sink = av.open(io.BytesIO(), "w", format="mp4")
        stream = self._sink.add_stream(CODEC, rate=Fraction(1) / self._tick, options=dict(_OPTIONS))
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = self._tick
        stream.codec_context.gop_size = max(1, round(fps * _KEYFRAME_EVERY_S))
        self._sink.start_encoding()
        self._stream = stream
        self._jpeg = av.CodecContext.create("mjpeg", "r")
        self._picture: VideoFrame | None = None
        self._packets: list[_Packet] = []
        self._offset = 0  # frames of the stored video this one continues
        self._encoded = 0

    @property
    def frames(self) -> int:
        return self._offset + self._encoded

    @property
    def seconds(self) -> float:
        return float(self.frames * self._tick)

    def continue_from(self, stored: bytes) -> bool:
        """Carry on after the frames of `stored` (an MP4 this class wrote). False, and nothing
        taken, when it cannot be continued (another size, rate or codec configuration)."""
        if self._packets or self._encoded:
            raise RuntimeError("continue_from must come before the first frame")
        try:
            packets = self._read(stored)
        except (av.FFmpegError, ValueError):
            return False
        if packets is None:
            return False
        self._packets = packets
        self._offset = (packets[-1].frame + 1) if packets else 0
        return True

    def _read(self, stored: bytes) -> list[_Packet] | None:
        with av.open(io.BytesIO(stored), "r") as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            params = stream.codec_context
            same = (
                params.name == "h264"
                and (params.width, params.height) == (self.width, self.height)
                and parameter_sets(params.extradata) == parameter_sets(self._stream.codec_context.extradata)
            )
            if not same or stream.time_base is None:
                return None
            packets = []
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                index = round(packet.pts * stream.time_base / self._tick)
                packets.append(_Packet(_start_codes(bytes(packet)), index, packet.is_keyframe))
        if any(b.frame <= a.frame for a, b in itertools.pairwise(packets)):
            return None  # not a constant-rate video of this kind
        return packets

    def show(self, jpeg: bytes) -> None:
        """The picture the next frames repeat (a JPEG of any size; scaled to the video's)."""
        decoded = self._jpeg.decode(av.Packet(jpeg))
        if decoded:
            picture = decoded[-1].reformat(width=self.width, height=self.height, format="yuv420p")
            picture.pict_type = PictureType.NONE  # a decoded JPEG is marked intra; let the encoder choose
            self._picture = picture

    @property
    def has_picture(self) -> bool:
        return self._picture is not None

    def extend_to(self, frames: int) -> int:
        """Encode the current picture until the video has `frames` frames; returns how many
        were added (none before the first picture)."""
        if self._picture is None:
            return 0
        added = 0
        while self.frames < frames:
            self._picture.pts = self._encoded
            self._picture.time_base = self._tick
            for packet in self._stream.encode(self._picture):
                if packet.pts is not None:
                    index = self._offset + packet.pts
                    self._packets.append(_Packet(bytes(packet), index, packet.is_keyframe))
            self._encoded += 1
            added += 1
        return added

    def mp4(self) -> bytes:
        """Every frame so far as one complete MP4 (index at the front)."""
        fd, name = tempfile.mkstemp(prefix="alto-video-", suffix=".mp4")
        os.close(fd)
        try:
            # The index goes first ("faststart"), which needs a real file to rewrite.
            with av.open(name, "w", format="mp4", options={"movflags": "+faststart"}) as out:
                stream = out.add_stream_from_template(self._stream)
                for item in self._packets:
                    packet = av.Packet(item.data)
                    packet.pts = packet.dts = item.frame
                    packet.time_base = self._tick
                    packet.is_keyframe = item.keyframe
                    packet.stream = stream
                    out.mux(packet)
            with open(name, "rb") as f:
                return f.read()
        finally:
            Path(name).unlink()

    def close(self) -> None:
        self._sink.close()
