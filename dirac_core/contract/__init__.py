"""The deployment contract, declared once: components, their CS options and the CFG layer files.

Everything else is derived from these declarations: the runtime's `Component`s and option defaults,
the validator's rules (`dirac_core.config.schema`), Ansible's component catalogue
(`playbooks/vars/components.yml`, written by ``python -m dirac_core.contract --write``), the
dirac_config filters, and the ports and options tables of the docs (checked by the tests).
Plain data and pure functions: it imports only `dirac_core.errors`, so every layer (config, services,
server, the kit, the Ansible filters) may import it.
"""
