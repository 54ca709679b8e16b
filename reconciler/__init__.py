"""reconciler: Infracost Cloud tagging policies, guardrails and custom properties as code."""

__version__ = "0.1.0"
