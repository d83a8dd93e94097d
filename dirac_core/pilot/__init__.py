"""The pilot: asks the Matcher for a job, runs it locally, reports back."""
