"""The errors of inspire_ros: one base, one class per area.

Each message names what is wrong (a config key, a file, a bag) and how to fix it; the CLI
prints it on one line and maps the class to its exit status in one table
(`inspire_ros.cli.EXIT_CODES`). Each class also keeps the built-in base it has always had
(ConfigError is a ValueError, the others RuntimeErrors), so existing handlers still match.
The area modules re-export their class (`inspire_ros.config.ConfigError`, ...).
"""

from __future__ import annotations


class InspireError(Exception):
    """Base of every error inspire_ros raises on purpose (not a bug): the message is for the user."""


class ConfigError(InspireError, ValueError):
    """A configuration value is missing, unknown or out of range."""


class ModelError(InspireError, RuntimeError):
    """A model file is missing, unreadable or does not match its recorded sha256."""


class MediaError(InspireError, RuntimeError):
    """An input cannot be read or an output cannot be written."""


class BagError(InspireError, RuntimeError):
    """A bag cannot be read, understood or written."""


class EvalError(InspireError, RuntimeError):
    """Evaluation input (data, model, optional dependency) is missing or unusable; the
    message names the file or package and how to fix it."""


__all__ = ["BagError", "ConfigError", "EvalError", "InspireError", "MediaError", "ModelError"]
