"""Migration helpers run on the controller: shared configuration layer (stage 2)."""
