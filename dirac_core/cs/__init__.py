"""Configuration Service logic: versions, backups, validate-before-swap, master/slave, refresher."""
