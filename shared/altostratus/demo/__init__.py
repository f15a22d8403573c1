"""`alto demo`: the first examples end to end on this machine, through the official SDK."""
