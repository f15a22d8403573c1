"""Altostratus: a self-hosted, AWS-native backend for AI browser automation (Skyvern v1 wire API)."""

__version__ = "0.1.0"
