"""The launcher service (FastAPI on uvicorn), started by the Hub as a managed service."""
