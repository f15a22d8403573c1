"""The wire format shared by the API, the published events and the webhooks: the run response,
its timeline and artifacts, the time format, and the typed response models."""
