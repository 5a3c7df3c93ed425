"""jug-py: builds a Jug script into a jug-host task component with componentize-py."""

__version__ = "0.1.0"
