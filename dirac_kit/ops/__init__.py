"""Ad-hoc operations across the hosts of an inventory (Fabric): status, logs, freeze/unfreeze."""
