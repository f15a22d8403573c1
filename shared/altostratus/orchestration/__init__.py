"""Orchestration: the run state machine's handlers, and an interpreter of its ASL file."""
