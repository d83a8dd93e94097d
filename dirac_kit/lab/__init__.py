"""The lab: the hosts of an inventory as systemd+sshd containers on one machine (`dirac-kit lab`)."""
