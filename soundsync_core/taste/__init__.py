"""The taste model: profiles, compatibility, reasons and taste tribes (pure: no I/O)."""
