"""Subcommand groups of the ``ocr-cluster`` command."""
