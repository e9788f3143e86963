"""dl_drawbacks: the well-known drawbacks of deep learning, measured.

Each drawback is a *study*: a declared experiment (``studies/*.yaml``) that runs many training
trials on Ray, writes flat metric rows, aggregates them with polars, fits the model that answers
the study's question and reports the findings locally and in Weights & Biases.
"""

__version__ = "0.1.0"
