"""dirac_kit: operator tooling (lab of hosts, ansible wrapper, runbooks). Not deployed to hosts."""
