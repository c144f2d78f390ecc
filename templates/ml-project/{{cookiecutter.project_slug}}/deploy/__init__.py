"""Deployment requests (validated here, applied by the platform's `ladder deploy`) and the endpoint smoke test."""
