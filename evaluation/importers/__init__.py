"""Importing judgments made elsewhere (an earlier crowd study, a model run on another
machine) as ordinary Judgment rows."""
