"""Fairness measurement for the bias study: group rates and metrics (numpy), and the aif360 adapter."""
