"""Practice and lab protocols (phases, guidance, pacer settings, study designs): to come."""
