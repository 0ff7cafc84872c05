"""Introspection rules: model and validation, conditions, actions, evaluation."""
