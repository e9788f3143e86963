"""Explanations of trained models: captum attributions, their faithfulness and sanity, planted ground truth."""
