"""The HTTP API (FastAPI): coordinators launch and follow projects, partners act."""
