"""Deploying approved model packages and checking the endpoint answers."""
