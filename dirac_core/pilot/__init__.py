"""The pilot: asks the Matcher for a job, runs it locally, reports back (status, sandboxes, accounting).

It sits beside the server runtime, above the clients: `gateway` says what it needs from the WMS,
`https_gateway` provides it over HTTPS, `loop` and `executor` run jobs, `accounting` builds the Job
record. Its command is `dirac-core pilot` (`dirac_core.cli.pilot`).
"""
