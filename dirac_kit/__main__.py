"""`python -m dirac_kit` = `dirac-kit`."""

from dirac_kit.cli import main

main()
