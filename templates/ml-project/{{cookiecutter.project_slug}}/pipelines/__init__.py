"""Talking to the platform's SageMaker training pipeline."""
