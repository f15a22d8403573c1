"""A fake OpenAI-compatible server: the Responses API (computer use) and Chat Completions."""
