"""Hyperparameter search: the space, trials, the Tune driver with ASHA, and the analyses of the hparams study."""
