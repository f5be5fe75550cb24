"""clsweep: continual-learning experiments for NLP, from one run to order-aware Ray Tune sweeps."""

__version__ = "0.1.0"
