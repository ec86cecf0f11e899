"""The version of every distribution in this repository (they are released together); the only place it is written."""

__version__ = "0.1.0"
