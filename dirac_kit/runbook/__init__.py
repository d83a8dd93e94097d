"""Operator runbooks: step lists rendered for humans (Markdown/HTML) and run with resume markers."""
